// The reading workspace (/read/:id): the OHIF viewer beside the case and either the reader's report editor or,
// for a senior who is not the reader of a preliminary case, the second-reading panel. On a phone they stack.
import { useQuery } from "@tanstack/react-query";
import { useCallback, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate, useParams } from "react-router-dom";

import { api, ok } from "../../api/client";
import { allows, allowsAny } from "../../api/allowedActions";
import { useAudit, useHospitalName, useReferral } from "../../api/hooks";
import type { AuditEvent, Me, Referral, ReferralDetail, ReportVersion } from "../../api/types";
import { useMe } from "../../auth/session";
import { PriorityBadge, SlaBadge, StateBadge } from "../../components/Badges";
import { ErrorMessage, Loading } from "../../components/ErrorMessage";
import { formatDateTime } from "../../i18n/format";
import { defectList } from "../../i18n/notice";
import { AddendumPanel } from "../case/AddendumPanel";
import { useCaseAction, saveDraft } from "./actions";
import { bodyOf, type ReportBody } from "./autosave";
import { TextAreaField } from "./Field";
import { QualityPanel, RetakePanel, latestGrade } from "./QualityPanel";
import { ReportEditor } from "./ReportEditor";
import { RecognisedPriors } from "./RecognisedPriors";
import { ReportView } from "./ReportView";
import { ReviewPanel, type ReviewDecision } from "./ReviewPanel";
import { FlagButton, canFlag } from "../teaching/FlagButton";

export type ReadingMode = "edit" | "reader-view" | "review" | "offer" | "other";

/** What this person does with the case here: what the server allows them now (referral.allowed_actions). */
export function readingMode(r: Pick<Referral, "allowed_actions" | "reader_id">, me: Pick<Me, "id">): ReadingMode {
  if (allowsAny(r, "save_draft", "submit_preliminary")) return "edit";
  if (allowsAny(r, "approve", "request_changes")) return "review";
  if (allows(r, "accept")) return "offer";
  return r.reader_id === me.id ? "reader-view" : "other";
}

/** The draft to reopen: the newest version the reader wrote (a sent-back preliminary report counts). */
export function latestDraft(reports: ReportVersion[]): ReportVersion | null {
  const mine = reports.filter((r) => r.kind === "draft" || r.kind === "preliminary");
  return mine.length ? mine.reduce((a, b) => (b.version > a.version ? b : a)) : null;
}

function lastEvent(events: AuditEvent[] | undefined, ...actions: string[]): AuditEvent | null {
  const found = (events ?? []).filter((e) => actions.includes(e.action));
  return found.length ? found[found.length - 1] : null;
}

function age(birth: string): number | null {
  const b = new Date(birth);
  if (Number.isNaN(b.getTime())) return null;
  const now = new Date();
  return now.getFullYear() - b.getFullYear() - (now < new Date(now.getFullYear(), b.getMonth(), b.getDate()) ? 1 : 0);
}

function Priors({ id }: { id: string }) {
  const { t, i18n } = useTranslation("reading");
  const priors = useQuery({
    queryKey: ["priors", id],
    queryFn: () => ok(api.GET("/api/referrals/{referral_id}/priors", { params: { path: { referral_id: id } } })),
  });
  return (
    <section aria-labelledby="priors-title">
      <h3 id="priors-title">{t("case.priors")}</h3>
      {priors.isPending ? (
        <Loading />
      ) : priors.error ? (
        <ErrorMessage error={priors.error} onRetry={() => void priors.refetch()} />
      ) : priors.data.items.length === 0 ? (
        <p className="muted small">{t("case.noPriors")}</p>
      ) : (
        <ul className="rd-priors">
          {priors.data.items.map((p) => (
            <li key={p.id}>
              <details>
                <summary>
                  {formatDateTime(p.submitted_at, i18n.language)} · {p.modality} {p.body_part} ·{" "}
                  {p.impression ? p.impression : <span className="muted">{t("case.noSignedReport")}</span>}
                </summary>
                <p className="small muted">{p.clinical_question}</p>
                {p.findings && <p className="report-text small">{p.findings}</p>}
              </details>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function CaseSummary({ referral }: { referral: ReferralDetail }) {
  const { t, i18n } = useTranslation("reading");
  const hospitalName = useHospitalName();
  const p = referral.patient;
  const years = p?.birth_date ? age(p.birth_date) : null;
  return (
    <section className="card case-summary" aria-labelledby="summary-title">
      <h2 id="summary-title" className="visually-hidden">
        {t("case.summary")}
      </h2>
      <div className="row">
        <SlaBadge referral={referral} />
        <PriorityBadge priority={referral.priority} />
        <StateBadge state={referral.state} />
        {referral.difficult && <span className="badge">{t("worklist.difficult")}</span>}
      </div>
      <dl className="rd-facts">
        <div>
          <dt>{t("case.patient")}</dt>
          <dd>
            {p?.name ?? "—"} · {p ? t(`case.sex.${p.sex}`) : ""}
            {years !== null && ` · ${t("case.age", { years })}`} · {p?.patient_id}
          </dd>
        </div>
        <div>
          <dt>{t("case.study")}</dt>
          <dd>
            {referral.modality} {referral.body_part}
          </dd>
        </div>
        <div>
          <dt>{t("case.from")}</dt>
          <dd>
            {hospitalName(referral.requesting_hospital_id)} · {formatDateTime(referral.submitted_at, i18n.language)}
          </dd>
        </div>
      </dl>
      <h3>{t("case.question")}</h3>
      <p className="report-text">{referral.clinical_question}</p>
      <Priors id={referral.id} />
      <RecognisedPriors id={referral.id} studyUid={referral.study_instance_uid} />
      <p className="small">
        <Link to={`/cases/${referral.id}`}>{t("case.fullCase")}</Link>
      </p>
    </section>
  );
}

function ReviewerNote({ event }: { event: AuditEvent }) {
  const { t, i18n } = useTranslation("reading");
  const d = event.details as { comments?: string; discrepancy?: string };
  return (
    <section className="warning changes-note" aria-labelledby="changes-title">
      <h3 id="changes-title">{t("changes.title")}</h3>
      <p className="small">
        {t("changes.by", { name: event.actor_name ?? event.actor_id, at: formatDateTime(event.at, i18n.language) })}
        {d.discrepancy && ` · ${t("review.discrepancy")}: ${t(`review.grade.${d.discrepancy}`)}`}
      </p>
      <p className="report-text">{d.comments || t("changes.noComment")}</p>
    </section>
  );
}

function RequestInfo({ id }: { id: string }) {
  const { t } = useTranslation("reading");
  const action = useCaseAction();
  const [question, setQuestion] = useState("");
  const [missing, setMissing] = useState(false);
  return (
    <details className="card request-info">
      <summary>{t("info.open")}</summary>
      <form
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          if (!question.trim()) return setMissing(true);
          setMissing(false);
          action.mutate({ id, action: "request-info", body: { comment: question.trim() } });
        }}
      >
        <TextAreaField
          id="info-question"
          label={t("info.question")}
          error={missing ? t("info.required") : null}
          errorId="err-question"
          value={question}
          maxLength={4000}
          rows={3}
          required
          onChange={(e) => setQuestion(e.target.value)}
        />
        <p className="muted small">{t("info.hint")}</p>
        <button type="submit" disabled={action.isPending}>
          {t("info.submit")}
        </button>
        <ErrorMessage error={action.error} />
      </form>
    </details>
  );
}

function OfferActions({ id }: { id: string }) {
  const { t } = useTranslation("reading");
  const action = useCaseAction();
  const navigate = useNavigate();
  return (
    <section className="card" aria-labelledby="offer-title">
      <h2 id="offer-title">{t("offer.title")}</h2>
      <div className="row">
        <button type="button" className="primary" disabled={action.isPending} onClick={() => action.mutate({ id, action: "accept", body: { comment: "" } })}>
          {t("worklist.accept")}
        </button>
        <button type="button" disabled={action.isPending} onClick={() => navigate("/worklist")}>
          {t("offer.back")}
        </button>
      </div>
      <ErrorMessage error={action.error} />
    </section>
  );
}

/** What the reader is waiting for on a needs_info case: their question, or their retake's reasons and request. */
function Waiting({ event }: { event: AuditEvent }) {
  const { t } = useTranslation("reading");
  const d = event.details as { request?: string; reasons?: string[] };
  return (
    <p className="warning" role="status">
      {event.action === "request_retake"
        ? t("retake.waiting", { reasons: defectList(t, d.reasons ?? []), request: String(d.request ?? "") })
        : t("info.waiting", { question: String(d.request ?? "") })}
    </p>
  );
}

function ReaderWorkspace({ referral, mode }: { referral: ReferralDetail; mode: "edit" | "reader-view" }) {
  const { t } = useTranslation("reading");
  const navigate = useNavigate();
  const action = useCaseAction();
  const audit = useAudit(referral.id);
  const draft = useMemo(() => latestDraft(referral.reports), [referral.reports]);
  const onSaveDraft = useCallback((body: ReportBody) => saveDraft(referral.id, body), [referral.id]);
  const onSubmit = useCallback(
    async (body: ReportBody) => {
      await action.mutateAsync({ id: referral.id, action: "preliminary", body: { ...body } });
      navigate("/worklist", { state: { notice: "preliminary" } });
    },
    [action, navigate, referral.id],
  );
  const changes = referral.state === "changes_requested" ? lastEvent(audit.data?.items, "request_changes") : null;
  const asked = lastEvent(audit.data?.items, "request_info", "request_retake");
  const answered = lastEvent(audit.data?.items, "provide_info");
  const question = referral.state === "needs_info" ? asked : null;
  const answer = referral.state !== "needs_info" && answered && asked && answered.seq > asked.seq ? answered : null;
  const grade = latestGrade(audit.data?.items);
  return (
    <>
      {changes && <ReviewerNote event={changes} />}
      {question && <Waiting event={question} />}
      {answer && asked && mode === "edit" && (
        <section className="success info-answer" aria-labelledby="answer-title">
          <h3 id="answer-title">{t("info.answerTitle")}</h3>
          <p className="small">{t("info.asked", { question: String((asked.details as { request?: string }).request ?? "") })}</p>
          <p className="report-text">{String((answer.details as { answer?: string }).answer ?? "")}</p>
        </section>
      )}
      {mode === "edit" ? (
        <>
          <ReportEditor
            key={referral.id}
            modality={referral.modality}
            bodyPart={referral.body_part}
            initial={draft ? bodyOf(draft) : null}
            initialSavedAt={draft ? new Date(draft.created_at) : null}
            onSaveDraft={onSaveDraft}
            onSubmit={onSubmit}
            editable
          />
          {allows(referral, "grade_quality") && (
            <QualityPanel
              key={JSON.stringify(grade)}
              referralId={referral.id}
              modality={referral.modality}
              current={grade}
            />
          )}
          {allows(referral, "request_info") && <RequestInfo id={referral.id} />}
          {allows(referral, "request_retake") && <RetakePanel referralId={referral.id} />}
        </>
      ) : (
        <section aria-labelledby="readonly-title">
          <h2 id="readonly-title">{t("editor.title")}</h2>
          <p className="muted" role="status">
            {t(`readonly.${referral.state}`, { defaultValue: t("readonly.other") })}
          </p>
          {referral.reports.length > 0 && <ReportView report={referral.reports[referral.reports.length - 1]} />}
          {allows(referral, "add_addendum") && <AddendumPanel referralId={referral.id} />}
        </section>
      )}
    </>
  );
}

function ReviewWorkspace({ referral }: { referral: ReferralDetail }) {
  const navigate = useNavigate();
  const action = useCaseAction();
  const preliminary = useMemo(() => {
    const found = referral.reports.filter((r) => r.kind === "preliminary");
    return found.length ? found[found.length - 1] : null;
  }, [referral.reports]);
  const onDecide = async (decision: ReviewDecision, body: { discrepancy: string; comments: string }) => {
    await action.mutateAsync({ id: referral.id, action: decision, body });
    navigate("/review");
  };
  return (
    <ReviewPanel
      report={preliminary}
      onDecide={onDecide}
      approve={allows(referral, "approve")}
      requestChanges={allows(referral, "request_changes")}
    />
  );
}

export default function ReadingPage() {
  const { id = "" } = useParams();
  const { t } = useTranslation("reading");
  const me = useMe();
  const referral = useReferral(id);
  if (referral.isPending) return <Loading />;
  if (referral.error) return <ErrorMessage error={referral.error} onRetry={() => void referral.refetch()} />;
  const r = referral.data;
  const mode = readingMode(r, me);
  const viewerUrl = `/viewer/viewer?StudyInstanceUIDs=${encodeURIComponent(r.study_instance_uid)}`;
  return (
    <div className="reading-page">
      <div className="row between reading-head">
        <h1>
          {t(mode === "review" ? "page.review" : "page.read")}: {r.modality} {r.body_part} · {r.patient?.name}
        </h1>
        <Link to={mode === "review" ? "/review" : "/worklist"} className="no-print">
          {t(mode === "review" ? "page.backReview" : "page.backWorklist")}
        </Link>
      </div>
      <div className="split reading-split">
        <section className="viewer-pane" aria-label={t("page.images")}>
          <iframe title="Image viewer" className="viewer-frame" src={viewerUrl} />
          <a className="small" href={viewerUrl} target="_blank" rel="noreferrer">
            {t("page.openViewer")}
          </a>
        </section>
        <div className="work-pane">
          <CaseSummary referral={r} />
          {canFlag(me, r) && <FlagButton referralId={r.id} />}
          {mode === "edit" || mode === "reader-view" ? (
            <ReaderWorkspace referral={r} mode={mode} />
          ) : mode === "review" ? (
            <ReviewWorkspace referral={r} />
          ) : mode === "offer" ? (
            <OfferActions id={r.id} />
          ) : (
            <p className="warning" role="status">
              {t("page.notYours")} <Link to={`/cases/${r.id}`}>{t("case.fullCase")}</Link>
            </p>
          )}
        </div>
      </div>
    </div>
  );
}
