// The requesting county doctor's actions on a case: answer the reader, cancel, acknowledge the report.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";

import { api, ok } from "../../api/client";
import type { AuditEvent } from "../../api/types";
import { ErrorMessage } from "../../components/ErrorMessage";
import { defectList } from "../../i18n/notice";

type CountyAction = "provide-info" | "cancel" | "acknowledge-receipt" | "acknowledge-critical" | "question";

/** POST /api/referrals/{id}/{action}; refreshes what shows the case (live events would too, a moment later). */
export function useCaseAction(id: string, action: CountyAction) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: { comment: string }) =>
      ok(api.POST(`/api/referrals/{referral_id}/${action}`, { params: { path: { referral_id: id } }, body })),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: ["referral", id] });
      void client.invalidateQueries({ queryKey: ["audit", id] });
      void client.invalidateQueries({ queryKey: ["referrals"] });
    },
  });
}

/** The reader's latest question on a needs_info case (the request_info event's comment). */
export function openQuestion(events: AuditEvent[]): string | null {
  const asked = [...events].sort((a, b) => b.seq - a.seq).find((e) => e.action === "request_info" || e.action === "request_retake");
  const text = asked?.details.request ?? asked?.details.comment;
  return typeof text === "string" ? text : null;
}

/** The defect reasons of the reader's latest request when it is a retake (null for a question). */
export function openRetake(events: AuditEvent[]): string[] | null {
  const asked = [...events].sort((a, b) => b.seq - a.seq).find((e) => e.action === "request_info" || e.action === "request_retake");
  const reasons = asked?.action === "request_retake" ? asked.details.reasons : null;
  return Array.isArray(reasons) ? reasons.map(String) : null;
}

export function NeedsInfoPanel({ referralId, question, retake = null }: {
  referralId: string;
  question: string | null;
  retake?: string[] | null;
}) {
  const { t } = useTranslation("county");
  const [answer, setAnswer] = useState("");
  const send = useCaseAction(referralId, "provide-info");
  const id = useId();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (answer.trim()) send.mutate({ comment: answer.trim() }, { onSuccess: () => setAnswer("") });
  };
  return (
    <section className="card needs-info" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>{t("needsInfo.title")}</h2>
      {retake && (
        <p className="warning" data-testid="retake-reasons">
          {t("needsInfo.retake", { reasons: defectList(t, retake) })}
        </p>
      )}
      {question && (
        <blockquote className="reader-question">
          <span className="muted small">{t("needsInfo.question")}:</span>
          <p className="report-text">{question}</p>
        </blockquote>
      )}
      <form onSubmit={submit}>
        <label>
          {t("needsInfo.answer")}
          <textarea value={answer} onChange={(e) => setAnswer(e.target.value)} required maxLength={4000} rows={4} />
        </label>
        <ErrorMessage error={send.error} />
        <button type="submit" className="primary" disabled={!answer.trim() || send.isPending}>
          {t("needsInfo.send")}
        </button>
      </form>
    </section>
  );
}

/** Before reading starts the county may add to or correct the clinical question (an auto-referral's comes from the
 * images' order attributes). */
export function QuestionPanel({ referralId, question }: { referralId: string; question: string }) {
  const { t } = useTranslation("county");
  const [text, setText] = useState(question);
  const save = useCaseAction(referralId, "question");
  const id = useId();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (text.trim()) save.mutate({ comment: text.trim() });
  };
  return (
    <section className="card no-print" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>{t("question.title")}</h2>
      <p className="muted small">{t("question.hint")}</p>
      <form onSubmit={submit}>
        <label>
          {t("question.label")}
          <textarea value={text} onChange={(e) => setText(e.target.value)} required maxLength={4000} rows={3} />
        </label>
        <ErrorMessage error={save.error} />
        <button type="submit" className="primary" disabled={!text.trim() || text.trim() === question || save.isPending}>
          {t("question.save")}
        </button>
      </form>
    </section>
  );
}

export function CancelPanel({ referralId }: { referralId: string }) {
  const { t } = useTranslation("county");
  const [confirming, setConfirming] = useState(false);
  const [reason, setReason] = useState("");
  const cancel = useCaseAction(referralId, "cancel");
  const id = useId();
  if (!confirming)
    return (
      <div className="no-print">
        <button type="button" className="danger" onClick={() => setConfirming(true)}>
          {t("cancel.open")}
        </button>
      </div>
    );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (reason.trim()) cancel.mutate({ comment: reason.trim() });
  };
  return (
    <section className="card confirm" role="alertdialog" aria-labelledby={`${id}-title`} aria-describedby={`${id}-warn`}>
      <h2 id={`${id}-title`}>{t("cancel.title")}</h2>
      <p id={`${id}-warn`} className="warning">
        {t("cancel.warning")}
      </p>
      <form onSubmit={submit}>
        <label>
          {t("cancel.reason")}
          <textarea value={reason} onChange={(e) => setReason(e.target.value)} required autoFocus maxLength={4000} />
        </label>
        <ErrorMessage error={cancel.error} />
        <div className="row">
          <button type="submit" className="danger" disabled={!reason.trim() || cancel.isPending}>
            {t("cancel.confirm")}
          </button>
          <button type="button" onClick={() => setConfirming(false)}>
            {t("cancel.keep")}
          </button>
        </div>
      </form>
    </section>
  );
}

export function AcknowledgePanel({
  referralId,
  receipt,
  critical,
}: {
  referralId: string;
  receipt: boolean;
  critical: boolean;
}) {
  const { t } = useTranslation("county");
  const ackReceipt = useCaseAction(referralId, "acknowledge-receipt");
  const ackCritical = useCaseAction(referralId, "acknowledge-critical");
  const id = useId();
  return (
    <section className="card acknowledge" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>{t("ack.title")}</h2>
      {critical && (
        <div className="critical-ack">
          <p role="alert" className="error">
            {t("case.criticalOpen")}
          </p>
          <button type="button" className="danger" disabled={ackCritical.isPending} onClick={() => ackCritical.mutate({ comment: "" })}>
            {t("ack.critical")}
          </button>
          <ErrorMessage error={ackCritical.error} />
          {ackCritical.isSuccess && <p role="status" className="success">{t("ack.done")}</p>}
        </div>
      )}
      {receipt && (
        <div>
          <p className="muted small">{t("ack.receiptHelp")}</p>
          <button type="button" className="primary" disabled={ackReceipt.isPending} onClick={() => ackReceipt.mutate({ comment: "" })}>
            {t("ack.receipt")}
          </button>
          <ErrorMessage error={ackReceipt.error} />
          {ackReceipt.isSuccess && <p role="status" className="success">{t("ack.done")}</p>}
        </div>
      )}
    </section>
  );
}
