"""The words of notices for server channels (webhooks, and any SMS or e-mail adapter): zh-CN first, and en.

This is the server's i18n layer: a notice is a kind plus parameters (domain.notice) until a channel renders it
here. The web app renders the same kinds in the reader's language from web/src/i18n/notices.ts; tests hold both
catalogues to every NoticeKind in both languages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from yilian.domain.agreement import Priority
from yilian.domain.notice import NoticeKind
from yilian.domain.quality import DefectReason


class Language(StrEnum):
    ZH_CN = "zh-CN"
    EN = "en"


DEFAULT_LANGUAGE = Language.ZH_CN  # the alliance works in Chinese


@dataclass(frozen=True)
class Text:
    title: str
    body: str


K = NoticeKind
# Placeholders are the kind's NOTICE_PARAMS in str.format syntax.
TEMPLATES: Mapping[NoticeKind, Mapping[Language, Text]] = {
    K.AWAITING_IMAGES: {
        Language.ZH_CN: Text(
            "等待影像", "申请 {referral_id} 将在检查 {study_instance_uid} 到达影像库后分配（请经前置机发送或上传）。"
        ),
        Language.EN: Text(
            "Waiting for the images",
            "Referral {referral_id} is routed once study {study_instance_uid} reaches the archive "
            "(send it from the gateway or upload it).",
        ),
    },
    K.AUTO_REFERRED: {
        Language.ZH_CN: Text(
            "已自动提交远程诊断",
            "检查 {modality} {body_part} 已按托管协议自动生成申请 {referral_id}，临床问题：{clinical_question}。"
            "如需补充或更正，请在阅片开始前修改。",
        ),
        Language.EN: Text(
            "Referred automatically",
            "The {modality} {body_part} study became referral {referral_id} under the hosting agreement; clinical "
            "question: {clinical_question}. Add to or correct it before reading starts.",
        ),
    },
    K.RETAKE_REQUESTED: {
        Language.ZH_CN: Text(
            "请重新拍摄",
            "申请 {referral_id}（检查 {study_instance_uid}）需重拍，原因：{reasons}。{request}"
            "（新影像请按原检查号发送，将并入同一申请）",
        ),
        Language.EN: Text(
            "Retake requested",
            "Referral {referral_id} (study {study_instance_uid}) needs a retake: {reasons}. {request} "
            "(send the new images under the same study; they join the same referral)",
        ),
    },
    K.OFFER: {
        Language.ZH_CN: Text("新的{priority}病例", "{modality} {body_part}：{clinical_question}"),
        Language.EN: Text("New {priority} case offered", "{modality} {body_part}: {clinical_question}"),
    },
    K.ASSIGNED: {
        Language.ZH_CN: Text(
            "病例已分配给您", "协调员将申请 {referral_id}（{priority}，{modality} {body_part}）分配给您"
        ),
        Language.EN: Text(
            "Case assigned to you",
            "Referral {referral_id} ({priority}, {modality} {body_part}) was assigned to you by the coordinator",
        ),
    },
    K.ESCALATION: {
        Language.ZH_CN: Text("暂无可用阅片医生", "申请 {referral_id}（{modality} {body_part}）没有符合条件的阅片医生"),
        Language.EN: Text(
            "No reader available", "Referral {referral_id} ({modality} {body_part}) has no eligible reader"
        ),
    },
    K.SECOND_READING: {
        Language.ZH_CN: Text("待审核", "申请 {referral_id}（{priority}，{modality} {body_part}）的初步报告等待您审核"),
        Language.EN: Text(
            "Second reading needed",
            "The preliminary report of referral {referral_id} ({priority}, {modality} {body_part}) awaits your review",
        ),
    },
    K.CHANGES_REQUESTED: {
        Language.ZH_CN: Text("审核退回修改", "申请 {referral_id}：{comments}"),
        Language.EN: Text("Changes requested", "Referral {referral_id}: {comments}"),
    },
    K.NEEDS_INFO: {
        Language.ZH_CN: Text("需补充资料", "申请 {referral_id}：{request}"),
        Language.EN: Text("More information requested", "Referral {referral_id}: {request}"),
    },
    K.INFO_PROVIDED: {
        Language.ZH_CN: Text("已补充资料", "申请 {referral_id}：{answer}"),
        Language.EN: Text("Information provided", "Referral {referral_id}: {answer}"),
    },
    K.REPORT_READY: {
        Language.ZH_CN: Text("最终报告已签发", "申请 {referral_id} 的报告已签发，请确认接收。"),
        Language.EN: Text(
            "Final report ready", "The report for referral {referral_id} is signed. Please confirm receipt."
        ),
    },
    K.ADDENDUM: {
        Language.ZH_CN: Text("报告已补充", "申请 {referral_id} 的报告新增了补充说明"),
        Language.EN: Text("Report amended", "An addendum was added to referral {referral_id}"),
    },
    K.SLA_WARNING: {
        Language.ZH_CN: Text("时限已用 75%", "申请 {referral_id}（{priority}）已用去报告时限的 75%"),
        Language.EN: Text("SLA at 75%", "Referral {referral_id} ({priority}) is past 75% of its turnaround target"),
    },
    K.SLA_BREACH: {
        Language.ZH_CN: Text("已超时", "申请 {referral_id}（{priority}）未在时限内完成"),
        Language.EN: Text("SLA breached", "Referral {referral_id} ({priority}) missed its target"),
    },
    K.REASSIGNED: {
        Language.ZH_CN: Text("病例已转派", "申请 {referral_id} 超过宽限期，已转派其他医生"),
        Language.EN: Text("Case reassigned", "Referral {referral_id} was reassigned after the SLA grace period"),
    },
    K.CRITICAL_FINDING: {
        Language.ZH_CN: Text("危急值", "申请 {referral_id}：{note}"),
        Language.EN: Text("CRITICAL finding", "Referral {referral_id}: {note}"),
    },
    K.CRITICAL_ESCALATION: {
        Language.ZH_CN: Text("危急值未确认", "申请 {referral_id}：{note}"),
        Language.EN: Text("CRITICAL finding not acknowledged", "Referral {referral_id}: {note}"),
    },
    K.CONSULT_REQUESTED: {
        Language.ZH_CN: Text("申请多学科会诊", "申请 {referral_id} 请求多学科会诊：{title}"),
        Language.EN: Text("MDT consult requested", "Referral {referral_id} asks for an MDT consult: {title}"),
    },
    K.CONSULT_INVITATION: {
        Language.ZH_CN: Text("会诊邀请", "{title}：{starts_at}，{duration_minutes} 分钟"),
        Language.EN: Text("Consult invitation", "{title}: {starts_at}, {duration_minutes} minutes"),
    },
    K.CONSULT_REMINDER: {
        Language.ZH_CN: Text("会诊即将开始", "{title}：{starts_at} 开始"),
        Language.EN: Text("Consult coming up", "{title} starts at {starts_at}"),
    },
    K.CONSULT_RESCHEDULED: {
        Language.ZH_CN: Text("会诊时间已变更", "{title}：改为 {starts_at}"),
        Language.EN: Text("Consult rescheduled", "{title} now starts at {starts_at}"),
    },
    K.CONSULT_UNINVITED: {
        Language.ZH_CN: Text("会诊邀请已撤回", "{title}：会诊已重新安排，您不在新的参会名单中"),
        Language.EN: Text("Consult invitation withdrawn", "{title} was rescheduled without you on the list"),
    },
    K.CONSULT_CANCELLED: {
        Language.ZH_CN: Text("会诊已取消", "{title}：{reason}"),
        Language.EN: Text("Consult cancelled", "{title}: {reason}"),
    },
    K.CONSULT_CONCLUDED: {
        Language.ZH_CN: Text("会诊结论", "{title}：{recommendation}"),
        Language.EN: Text("Consult concluded", "{title}: {recommendation}"),
    },
    K.CONSULT_CLOSED: {
        Language.ZH_CN: Text("会诊已自动关闭", "{title}：超过预定结束时间仍未填写结论，会诊室已关闭"),
        Language.EN: Text("Consult closed", "{title} passed its scheduled end with no conclusion and was closed"),
    },
    K.TEACHING_NOMINATED: {
        Language.ZH_CN: Text(
            "新的教学病例推荐", "病例 {case_id}（{modality} {body_part}）被推荐为教学病例，请接受或忽略"
        ),
        Language.EN: Text(
            "Teaching case flagged",
            "Case {case_id} ({modality} {body_part}) was flagged as a teaching case: accept or dismiss it",
        ),
    },
    K.TEACHING_READY: {
        Language.ZH_CN: Text("教学病例待审校", "病例 {case_id}（{modality} {body_part}）已去标识化，请审校后发布"),
        Language.EN: Text(
            "Teaching case ready for review",
            "Case {case_id} ({modality} {body_part}) is de-identified: review and publish it",
        ),
    },
    K.TEACHING_PUBLISHED: {
        Language.ZH_CN: Text("教学病例已发布", "您推荐的病例 {case_id}「{title}」已发布到教学病例库"),
        Language.EN: Text(
            "Teaching case published", 'Case {case_id} you flagged, "{title}", is in the teaching library'
        ),
    },
    K.TEACHING_FOLLOW_UP: {
        Language.ZH_CN: Text(
            "教学病例有随访结果", "教学病例 {case_id}「{title}」的患者有新的已签发报告（申请 {referral_id}）"
        ),
        Language.EN: Text(
            "Follow-up for a teaching case",
            'The patient of teaching case {case_id} ("{title}") has a new signed report (referral {referral_id})',
        ),
    },
    K.LECTURE_SPEAKER: {
        Language.ZH_CN: Text("讲座邀请您主讲", "{title}：{starts_at} 开始"),
        Language.EN: Text("You are speaking at a lecture", "{title} starts at {starts_at}"),
    },
    K.LECTURE_REMINDER: {
        Language.ZH_CN: Text("讲座即将开始", "{title}：{starts_at} 开始"),
        Language.EN: Text("Lecture coming up", "{title} starts at {starts_at}"),
    },
    K.LECTURE_RESCHEDULED: {
        Language.ZH_CN: Text("讲座时间已变更", "{title}：改为 {starts_at}"),
        Language.EN: Text("Lecture rescheduled", "{title} now starts at {starts_at}"),
    },
    K.LECTURE_CANCELLED: {
        Language.ZH_CN: Text("讲座已取消", "{title}：{reason}"),
        Language.EN: Text("Lecture cancelled", "{title}: {reason}"),
    },
    K.LECTURE_REPLAY: {
        Language.ZH_CN: Text("讲座回放已发布", "{title} 的回放已可观看"),
        Language.EN: Text("Lecture replay out", "The replay of {title} is out"),
    },
    K.LECTURE_CREDIT: {
        Language.ZH_CN: Text("已获得继续教育学分", "{title}：{credit} 学分"),
        Language.EN: Text("Credit earned", "{title}: {credit} credits"),
    },
    K.SHARE_LINK_LOCKED: {
        Language.ZH_CN: Text(
            "患者链接已锁定",
            "申请 {referral_id} 的患者链接因多次输错出生日期被锁定至 {until}。如非患者本人所为，请撤回并重新生成链接",
        ),
        Language.EN: Text(
            "Patient link locked",
            "The patient link of referral {referral_id} is locked until {until} after too many wrong birth dates."
            " If the patient did not do this, withdraw it and make a new one",
        ),
    },
    K.FIXITY_MISMATCH: {
        Language.ZH_CN: Text(
            "影像完整性校验未通过",
            "{count} 个已存影像实例与入库时记录的 SHA-256 不符或已丢失（本次抽检 {checked} 个，批次 {run_id}），"
            "请联系管理员从备份恢复。",
        ),
        Language.EN: Text(
            "Stored images failed the fixity check",
            "{count} stored instances no longer match the SHA-256 recorded at ingest or are "
            "missing ({checked} sampled, run {run_id}); ask the administrator to restore them from backup.",
        ),
    },
}

PRIORITY_WORDS: Mapping[Language, Mapping[str, str]] = {  # keyed by Priority value
    Language.ZH_CN: {Priority.STAT: "危急", Priority.URGENT: "加急", Priority.ROUTINE: "常规"},
    Language.EN: {Priority.STAT: "STAT", Priority.URGENT: "urgent", Priority.ROUTINE: "routine"},
}

# Image defects (domain/quality.py), keyed by DefectReason value: a retake notice carries them joined by commas.
DEFECT_WORDS: Mapping[Language, Mapping[str, str]] = {
    Language.ZH_CN: {
        DefectReason.POSITIONING: "体位", DefectReason.EXPOSURE: "曝光", DefectReason.MOTION: "运动伪影",
        DefectReason.ARTEFACT: "伪影", DefectReason.COVERAGE: "范围不全", DefectReason.PROTOCOL: "技术规范",
    },
    Language.EN: {
        DefectReason.POSITIONING: "positioning", DefectReason.EXPOSURE: "exposure", DefectReason.MOTION: "motion",
        DefectReason.ARTEFACT: "artefact", DefectReason.COVERAGE: "coverage", DefectReason.PROTOCOL: "protocol",
    },
}  # fmt: skip
LIST_SEPARATOR: Mapping[Language, str] = {Language.ZH_CN: "、", Language.EN: ", "}


def defects(reasons: str, language: Language) -> str:
    """Comma-joined DefectReason values in `language`'s words (an unknown value is shown as it is)."""
    words = DEFECT_WORDS[language]
    return LIST_SEPARATOR[language].join(words.get(r, r) for r in reasons.split(",") if r)


class _Words(dict[str, str]):
    """A parameter a notice lacks shows as a dash rather than failing the delivery."""

    def __missing__(self, key: str) -> str:
        return "—"


def _when(iso: str) -> str:
    """An instant as a server channel shows it: UTC to the minute (a hospital system's reader has no time zone
    we know of); text that is no instant is shown as it is."""
    try:
        return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return iso


def render(kind: NoticeKind, params: Mapping[str, str], language: Language = DEFAULT_LANGUAGE) -> Text:
    """The notice in `language`: its template filled with its parameters (the priority in that language's words)."""
    words = _Words(params)
    if "priority" in words:
        words["priority"] = PRIORITY_WORDS[language].get(words["priority"], words["priority"])
    if "reasons" in words:
        words["reasons"] = defects(words["reasons"], language)
    for instant in ("starts_at", "until"):
        if instant in words:
            words[instant] = _when(words[instant])
    template = TEMPLATES[kind][language]
    return Text(template.title.format_map(words), template.body.format_map(words))


def render_all(kind: NoticeKind, params: Mapping[str, str]) -> dict[Language, Text]:
    """The notice in every language, for channels that cannot know the reader's (a hospital's webhook)."""
    return {language: render(kind, params, language) for language in Language}


# A patient's one-time sign-in code, by SMS (notify/sms.py). Not a notice kind: it goes to a phone, not a person's
# inbox, and carries a secret that must never reach the inbox or a webhook.
SIGN_IN_CODE_SMS: Mapping[Language, str] = {
    Language.ZH_CN: "【医联云胶片】您的验证码是 {code}，{minutes} 分钟内有效。请勿告诉他人。",
    Language.EN: "[Yilian cloud film] Your sign-in code is {code}, valid for {minutes} minutes. Tell it to nobody.",
}

# The words of a report PDF (documents/report_pdf.py) and of the patient's phone notice, zh-CN first.
REPORT_PDF_WORDS: Mapping[Language, Mapping[str, str]] = {
    Language.ZH_CN: {
        "title": "影像检查报告", "patient": "患者", "hospital": "检查医院", "study": "检查", "date": "检查日期",
        "findings": "影像所见", "impression": "诊断意见", "final": "正式报告", "addendum": "补充报告",
        "signed_by": "签发医师", "footer": "云胶片：仅供参考，不作诊断依据。",
        "reading_hospital": "诊断医院", "reader": "报告医师", "second_reader": "审核医师", "signed_at": "签发时间",
        "pacs_footer": "医联远程影像诊断报告，电子签发。",
    },
    Language.EN: {
        "title": "Imaging report", "patient": "Patient", "hospital": "Hospital", "study": "Study", "date": "Study date",
        "findings": "Findings", "impression": "Impression", "final": "Final report", "addendum": "Addendum",
        "signed_by": "Signed by", "footer": "Cloud film: for reference, not for diagnosis.",
        "reading_hospital": "Reading hospital", "reader": "Reader", "second_reader": "Second reader",
        "signed_at": "Signed at", "pacs_footer": "Yilian remote imaging report, signed electronically.",
    },
}  # fmt: skip
