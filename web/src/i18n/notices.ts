// The words of notices (inbox, toasts): the server sends a notice's kind and parameters (domain.notice), and the
// reader's language puts them into words here. notify/messages.py is the server's copy for webhooks; a test holds
// this catalogue to every kind the API's OpenAPI document names (notices.test.ts).
import type { NoticeKind } from "../api/generated/schema";
import { defineStrings } from "./define";

// Every kind the API names, no more: the type check fails on a kind without words.
type Catalogue = Record<NoticeKind, { title: string; body: string }>;

export default defineStrings(
  {
    awaiting_images: {
      title: "Waiting for the images",
      body: "Referral {{referral_id}} is routed once study {{study_instance_uid}} reaches the archive (send it from the gateway or upload it).",
    },
    auto_referred: {
      title: "Referred automatically",
      body: "The {{modality}} {{body_part}} study became referral {{referral_id}} under the hosting agreement; clinical question: {{clinical_question}}. Add to or correct it before reading starts.",
    },
    retake_requested: {
      title: "Retake requested",
      body: "Referral {{referral_id}} (study {{study_instance_uid}}) needs a retake: {{reasons}}. {{request}} (send the new images under the same study; they join the same referral)",
    },
    offer: { title: "New {{priority}} case offered", body: "{{modality}} {{body_part}}: {{clinical_question}}" },
    assigned: {
      title: "Case assigned to you",
      body: "Referral {{referral_id}} ({{priority}}, {{modality}} {{body_part}}) was assigned to you by the coordinator",
    },
    escalation: {
      title: "No reader available",
      body: "Referral {{referral_id}} ({{modality}} {{body_part}}) has no eligible reader",
    },
    second_reading: {
      title: "Second reading needed",
      body: "The preliminary report of referral {{referral_id}} ({{priority}}, {{modality}} {{body_part}}) awaits your review",
    },
    changes_requested: { title: "Changes requested", body: "Referral {{referral_id}}: {{comments}}" },
    needs_info: { title: "More information requested", body: "Referral {{referral_id}}: {{request}}" },
    info_provided: { title: "Information provided", body: "Referral {{referral_id}}: {{answer}}" },
    report_ready: {
      title: "Final report ready",
      body: "The report for referral {{referral_id}} is signed. Please confirm receipt.",
    },
    addendum: { title: "Report amended", body: "An addendum was added to referral {{referral_id}}" },
    sla_warning: {
      title: "SLA at 75%",
      body: "Referral {{referral_id}} ({{priority}}) is past 75% of its turnaround target",
    },
    sla_breach: { title: "SLA breached", body: "Referral {{referral_id}} ({{priority}}) missed its target" },
    reassigned: { title: "Case reassigned", body: "Referral {{referral_id}} was reassigned after the SLA grace period" },
    critical_finding: { title: "CRITICAL finding", body: "Referral {{referral_id}}: {{note}}" },
    critical_escalation: { title: "CRITICAL finding not acknowledged", body: "Referral {{referral_id}}: {{note}}" },
    consult_requested: {
      title: "MDT consult requested",
      body: "Referral {{referral_id}} asks for an MDT consult: {{title}}",
    },
    consult_invitation: {
      title: "Consult invitation",
      body: "{{title}}: {{starts_at}}, {{duration_minutes}} minutes",
    },
    consult_reminder: { title: "Consult coming up", body: "{{title}} starts at {{starts_at}}" },
    consult_rescheduled: { title: "Consult rescheduled", body: "{{title}} now starts at {{starts_at}}" },
    consult_uninvited: { title: "Consult invitation withdrawn", body: "{{title}} was rescheduled without you on the list" },
    consult_cancelled: { title: "Consult cancelled", body: "{{title}}: {{reason}}" },
    consult_concluded: { title: "Consult concluded", body: "{{title}}: {{recommendation}}" },
    consult_closed: { title: "Consult closed", body: "{{title}} passed its scheduled end with no conclusion and was closed" },
    teaching_nominated: {
      title: "Teaching case flagged",
      body: "Case {{case_id}} ({{modality}} {{body_part}}) was flagged as a teaching case: accept or dismiss it",
    },
    teaching_ready: {
      title: "Teaching case ready for review",
      body: "Case {{case_id}} ({{modality}} {{body_part}}) is de-identified: review and publish it",
    },
    teaching_published: { title: "Teaching case published", body: 'Case {{case_id}} you flagged, "{{title}}", is in the teaching library' },
    teaching_follow_up: {
      title: "Follow-up for a teaching case",
      body: 'The patient of teaching case {{case_id}} ("{{title}}") has a new signed report (referral {{referral_id}})',
    },
    lecture_speaker: { title: "You are speaking at a lecture", body: "{{title}} starts at {{starts_at}}" },
    lecture_reminder: { title: "Lecture coming up", body: "{{title}} starts at {{starts_at}}" },
    lecture_rescheduled: { title: "Lecture rescheduled", body: "{{title}} now starts at {{starts_at}}" },
    lecture_cancelled: { title: "Lecture cancelled", body: "{{title}}: {{reason}}" },
    lecture_replay: { title: "Lecture replay out", body: "The replay of {{title}} is out" },
    lecture_credit: { title: "Credit earned", body: "{{title}}: {{credit}} credits" },
    share_link_locked: {
      title: "Patient link locked",
      body: "The patient link of referral {{referral_id}} is locked until {{until}} after too many wrong birth dates. If the patient did not do this, withdraw it and make a new one",
    },
    fixity_mismatch: {
      title: "Stored images failed the fixity check",
      body: "{{count}} stored instances no longer match the SHA-256 recorded at ingest or are missing ({{checked}} sampled, run {{run_id}}); ask the administrator to restore them from backup.",
    },
  } satisfies Catalogue,
  {
    awaiting_images: {
      title: "等待影像",
      body: "申请 {{referral_id}} 将在检查 {{study_instance_uid}} 到达影像库后分配（请经前置机发送或上传）。",
    },
    auto_referred: {
      title: "已自动提交远程诊断",
      body: "检查 {{modality}} {{body_part}} 已按托管协议自动生成申请 {{referral_id}}，临床问题：{{clinical_question}}。如需补充或更正，请在阅片开始前修改。",
    },
    retake_requested: {
      title: "请重新拍摄",
      body: "申请 {{referral_id}}（检查 {{study_instance_uid}}）需重拍，原因：{{reasons}}。{{request}}（新影像请按原检查号发送，将并入同一申请）",
    },
    offer: { title: "新的{{priority}}病例", body: "{{modality}} {{body_part}}：{{clinical_question}}" },
    assigned: {
      title: "病例已分配给您",
      body: "协调员将申请 {{referral_id}}（{{priority}}，{{modality}} {{body_part}}）分配给您",
    },
    escalation: {
      title: "暂无可用阅片医生",
      body: "申请 {{referral_id}}（{{modality}} {{body_part}}）没有符合条件的阅片医生",
    },
    second_reading: {
      title: "待审核",
      body: "申请 {{referral_id}}（{{priority}}，{{modality}} {{body_part}}）的初步报告等待您审核",
    },
    changes_requested: { title: "审核退回修改", body: "申请 {{referral_id}}：{{comments}}" },
    needs_info: { title: "需补充资料", body: "申请 {{referral_id}}：{{request}}" },
    info_provided: { title: "已补充资料", body: "申请 {{referral_id}}：{{answer}}" },
    report_ready: { title: "最终报告已签发", body: "申请 {{referral_id}} 的报告已签发，请确认接收。" },
    addendum: { title: "报告已补充", body: "申请 {{referral_id}} 的报告新增了补充说明" },
    sla_warning: { title: "时限已用 75%", body: "申请 {{referral_id}}（{{priority}}）已用去报告时限的 75%" },
    sla_breach: { title: "已超时", body: "申请 {{referral_id}}（{{priority}}）未在时限内完成" },
    reassigned: { title: "病例已转派", body: "申请 {{referral_id}} 超过宽限期，已转派其他医生" },
    critical_finding: { title: "危急值", body: "申请 {{referral_id}}：{{note}}" },
    critical_escalation: { title: "危急值未确认", body: "申请 {{referral_id}}：{{note}}" },
    consult_requested: { title: "申请多学科会诊", body: "申请 {{referral_id}} 请求多学科会诊：{{title}}" },
    consult_invitation: { title: "会诊邀请", body: "{{title}}：{{starts_at}}，{{duration_minutes}} 分钟" },
    consult_reminder: { title: "会诊即将开始", body: "{{title}}：{{starts_at}} 开始" },
    consult_rescheduled: { title: "会诊时间已变更", body: "{{title}}：改为 {{starts_at}}" },
    consult_uninvited: { title: "会诊邀请已撤回", body: "{{title}}：会诊已重新安排，您不在新的参会名单中" },
    consult_cancelled: { title: "会诊已取消", body: "{{title}}：{{reason}}" },
    consult_concluded: { title: "会诊结论", body: "{{title}}：{{recommendation}}" },
    consult_closed: { title: "会诊已自动关闭", body: "{{title}}：超过预定结束时间仍未填写结论，会诊室已关闭" },
    teaching_nominated: { title: "新的教学病例推荐", body: "病例 {{case_id}}（{{modality}} {{body_part}}）被推荐为教学病例，请接受或忽略" },
    teaching_ready: { title: "教学病例待审校", body: "病例 {{case_id}}（{{modality}} {{body_part}}）已去标识化，请审校后发布" },
    teaching_published: { title: "教学病例已发布", body: "您推荐的病例 {{case_id}}「{{title}}」已发布到教学病例库" },
    teaching_follow_up: { title: "教学病例有随访结果", body: "教学病例 {{case_id}}「{{title}}」的患者有新的已签发报告（申请 {{referral_id}}）" },
    lecture_speaker: { title: "讲座邀请您主讲", body: "{{title}}：{{starts_at}} 开始" },
    lecture_reminder: { title: "讲座即将开始", body: "{{title}}：{{starts_at}} 开始" },
    lecture_rescheduled: { title: "讲座时间已变更", body: "{{title}}：改为 {{starts_at}}" },
    lecture_cancelled: { title: "讲座已取消", body: "{{title}}：{{reason}}" },
    lecture_replay: { title: "讲座回放已发布", body: "{{title}} 的回放已可观看" },
    lecture_credit: { title: "已获得继续教育学分", body: "{{title}}：{{credit}} 学分" },
    share_link_locked: {
      title: "患者链接已锁定",
      body: "申请 {{referral_id}} 的患者链接因多次输错出生日期被锁定至 {{until}}。如非患者本人所为，请撤回并重新生成链接",
    },
    fixity_mismatch: {
      title: "影像完整性校验未通过",
      body: "{{count}} 个已存影像实例与入库时记录的 SHA-256 不符或已丢失（本次抽检 {{checked}} 个，批次 {{run_id}}），请联系管理员从备份恢复。",
    },
  },
);
