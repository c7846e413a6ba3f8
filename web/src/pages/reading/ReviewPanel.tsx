// The senior's second reading: the preliminary report, a RADPEER-like discrepancy grade, comments, and either
// "Approve and sign" (behind a confirmation: it signs the final report) or "Request changes" (comments required).
import { useState } from "react";
import { useTranslation } from "react-i18next";

import type { Discrepancy, ReportVersion } from "../../api/types";
import { errorText } from "../../components/ErrorMessage";
import { ConfirmStep } from "./ConfirmStep";
import { FieldError, TextAreaField } from "./Field";
import { ReportView } from "./ReportView";

export const DISCREPANCIES: Discrepancy[] = ["agree", "minor", "major"];

export interface ReviewValues {
  discrepancy: Discrepancy | "";
  comments: string;
}

export type ReviewDecision = "approve" | "request-changes";
type Errors = Partial<Record<keyof ReviewValues, string>>;

export function validateReview(decision: ReviewDecision, values: ReviewValues, t: (key: string) => string): Errors {
  const errors: Errors = {};
  if (!values.discrepancy) errors.discrepancy = t("review.required.discrepancy");
  if (decision === "request-changes" && !values.comments.trim()) errors.comments = t("review.required.comments");
  return errors;
}

export interface ReviewPanelProps {
  report: ReportVersion | null;
  onDecide: (decision: ReviewDecision, body: { discrepancy: Discrepancy; comments: string }) => Promise<unknown>;
  /** Which decisions the server offers this person (referral.allowed_actions). */
  approve: boolean;
  requestChanges: boolean;
}

export function ReviewPanel({ report, onDecide, approve, requestChanges }: ReviewPanelProps) {
  const { t } = useTranslation("reading");
  const [values, setValues] = useState<ReviewValues>({ discrepancy: "", comments: "" });
  const [errors, setErrors] = useState<Errors>({});
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<unknown>(null);

  const check = (decision: ReviewDecision) => {
    const found = validateReview(decision, values, t);
    setErrors(found);
    setFailure(null);
    return Object.keys(found).length === 0;
  };
  const decide = async (decision: ReviewDecision) => {
    if (!check(decision) || !values.discrepancy) return;
    setBusy(true);
    try {
      await onDecide(decision, { discrepancy: values.discrepancy, comments: values.comments.trim() });
    } catch (error) {
      setFailure(error);
      setConfirming(false);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="review-panel" aria-labelledby="review-title">
      <h2 id="review-title">{t("review.title")}</h2>
      {report ? <ReportView report={report} /> : <p className="warning">{t("review.noReport")}</p>}
      <form noValidate onSubmit={(e) => e.preventDefault()} aria-label={t("review.formLabel")}>
        <fieldset aria-describedby={errors.discrepancy ? "err-discrepancy" : undefined}>
          <legend>{t("review.discrepancy")}</legend>
          {DISCREPANCIES.map((d) => (
            <div key={d} className="radio-choice">
              <label className="inline">
                <input
                  type="radio"
                  name="discrepancy"
                  value={d}
                  checked={values.discrepancy === d}
                  aria-describedby={`disc-${d}-help`}
                  onChange={() => setValues({ ...values, discrepancy: d })}
                />
                {t(`review.grade.${d}`)}
              </label>
              <span id={`disc-${d}-help`} className="muted small">
                {t(`review.gradeHelp.${d}`)}
              </span>
            </div>
          ))}
          <FieldError id="err-discrepancy" message={errors.discrepancy} />
        </fieldset>
        <TextAreaField
          id="review-comments"
          label={t("review.comments")}
          error={errors.comments}
          errorId="err-comments"
          hint={{ id: "comments-hint", text: t("review.commentsHint") }}
          value={values.comments}
          maxLength={4000}
          rows={4}
          onChange={(e) => setValues({ ...values, comments: e.target.value })}
        />
        {!confirming ? (
          <div className="row">
            {approve && (
              <button type="button" className="primary" disabled={busy} onClick={() => check("approve") && setConfirming(true)}>
                {t("review.approve")}
              </button>
            )}
            {requestChanges && (
              <button type="button" disabled={busy} onClick={() => void decide("request-changes")}>
                {t("review.requestChanges")}
              </button>
            )}
          </div>
        ) : (
          <ConfirmStep
            textId="confirm-sign-text"
            text={t("review.confirmText")}
            confirmLabel={t("review.confirmSign")}
            pendingLabel={t("review.signing")}
            pending={busy}
            onConfirm={() => void decide("approve")}
            onCancel={() => setConfirming(false)}
          />
        )}
        {failure != null && (
          <div role="alert" className="error">
            {errorText(failure, t)}
          </div>
        )}
      </form>
    </section>
  );
}
