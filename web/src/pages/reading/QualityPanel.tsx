// Image quality control inside the reading screen (影像质控, docs/reading-service.md §3): the reader grades the study's
// technical quality (X-ray 甲乙丙丁, CT/MR 3-0, defect reasons below the best grade) and may send it back for a retake.
// Which of the two the reader gets comes from the server (allowed_actions); the server checks every value again.
import { useId, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";

import type { AuditEvent } from "../../api/types";
import { ErrorMessage } from "../../components/ErrorMessage";
import { useCaseAction } from "./actions";

export const DEFECTS = ["positioning", "exposure", "motion", "artefact", "coverage", "protocol"] as const;
// The scales of domain/quality.py: best grade first.
const XRAY = ["A", "B", "C", "D"];
const CROSS_SECTIONAL = ["3", "2", "1", "0"];
const XRAY_MODALITIES = new Set(["CR", "DX", "DR", "MG", "RF", "XA", "IO", "PX"]);

/** The grades a study of this modality takes, best first; empty when it has no scale (no grading then). */
export function gradesFor(modality: string): string[] {
  if (XRAY_MODALITIES.has(modality)) return XRAY;
  if (modality === "CT" || modality === "MR") return CROSS_SECTIONAL;
  return [];
}

/** The reader's latest grade of the case, from its audit trail. */
export function latestGrade(events: AuditEvent[] | undefined): { grade: string; reasons: string[] } | null {
  const graded = (events ?? []).filter((e) => e.action === "grade_quality");
  if (!graded.length) return null;
  const d = graded[graded.length - 1].details as { grade?: string; reasons?: string[] };
  return { grade: String(d.grade ?? ""), reasons: d.reasons ?? [] };
}

function ReasonBoxes({ chosen, onChange, legend, error }: {
  chosen: string[];
  onChange: (next: string[]) => void;
  legend: string;
  error: string | null;
}) {
  const { t } = useTranslation("common");
  const id = useId();
  return (
    <fieldset className="plain defect-reasons" aria-describedby={error ? `${id}-err` : undefined}>
      <legend>{legend}</legend>
      <div className="row wrap">
        {DEFECTS.map((r) => (
          <label key={r} className="inline">
            <input
              type="checkbox"
              checked={chosen.includes(r)}
              onChange={(e) => onChange(e.target.checked ? [...chosen, r] : chosen.filter((x) => x !== r))}
            />{" "}
            {t(`defect.${r}`)}
          </label>
        ))}
      </div>
      {error && (
        <p id={`${id}-err`} className="rd-field-error" role="alert">
          {error}
        </p>
      )}
    </fieldset>
  );
}

export function QualityPanel({ referralId, modality, current }: {
  referralId: string;
  modality: string;
  current: { grade: string; reasons: string[] } | null;
}) {
  const { t } = useTranslation("reading");
  const grades = gradesFor(modality);
  const action = useCaseAction();
  const [grade, setGrade] = useState(current?.grade ?? "");
  const [reasons, setReasons] = useState<string[]>(current?.reasons ?? []);
  const [problem, setProblem] = useState<"grade" | "reasons" | null>(null);
  const id = useId();
  if (!grades.length) return null;
  const scale = grades === XRAY ? "xray" : "cross";
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!grade) return setProblem("grade");
    if (grade !== grades[0] && reasons.length === 0) return setProblem("reasons");
    setProblem(null);
    action.mutate({ id: referralId, action: "quality", body: { grade, reasons: grade === grades[0] ? [] : reasons } });
  };
  return (
    <section className="card quality-panel" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>{t("quality.title")}</h2>
      {current && (
        <p className="small" role="status" data-testid="quality-current">
          {t("quality.current", {
            grade: t(`quality.grade.${scale}.${current.grade}`),
            reasons: current.reasons.map((r) => t(`common:defect.${r}`)).join(t("common:listSeparator")) || "—",
          })}
        </p>
      )}
      <form noValidate onSubmit={submit}>
        <fieldset className="plain">
          <legend>{t("quality.grade.label")}</legend>
          <div className="row wrap" role="radiogroup">
            {grades.map((g) => (
              <label key={g} className="inline">
                <input type="radio" name={`${id}-grade`} value={g} checked={grade === g} onChange={() => setGrade(g)} />{" "}
                {t(`quality.grade.${scale}.${g}`)}
              </label>
            ))}
          </div>
          {problem === "grade" && (
            <p className="rd-field-error" role="alert">
              {t("quality.gradeRequired")}
            </p>
          )}
        </fieldset>
        {grade && grade !== grades[0] && (
          <ReasonBoxes
            chosen={reasons}
            onChange={setReasons}
            legend={t("quality.reasons")}
            error={problem === "reasons" ? t("quality.reasonsRequired") : null}
          />
        )}
        <button type="submit" disabled={action.isPending}>
          {t("quality.submit")}
        </button>
        {action.isSuccess && (
          <p className="small success-text" role="status">
            {t("quality.saved")}
          </p>
        )}
        <ErrorMessage error={action.error} />
      </form>
    </section>
  );
}

export function RetakePanel({ referralId }: { referralId: string }) {
  const { t } = useTranslation("reading");
  const action = useCaseAction();
  const [reasons, setReasons] = useState<string[]>([]);
  const [comment, setComment] = useState("");
  const [problem, setProblem] = useState<"reasons" | "comment" | null>(null);
  const id = useId();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (reasons.length === 0) return setProblem("reasons");
    if (!comment.trim()) return setProblem("comment");
    setProblem(null);
    action.mutate({ id: referralId, action: "retake", body: { reasons, comment: comment.trim() } });
  };
  return (
    <details className="card request-info retake-panel">
      <summary>{t("retake.open")}</summary>
      <form noValidate onSubmit={submit}>
        <ReasonBoxes
          chosen={reasons}
          onChange={setReasons}
          legend={t("retake.reasons")}
          error={problem === "reasons" ? t("retake.reasonsRequired") : null}
        />
        <label htmlFor={`${id}-comment`}>{t("retake.comment")}</label>
        <textarea
          id={`${id}-comment`}
          value={comment}
          maxLength={4000}
          rows={3}
          aria-invalid={problem === "comment"}
          onChange={(e) => setComment(e.target.value)}
        />
        {problem === "comment" && (
          <p className="rd-field-error" role="alert">
            {t("retake.commentRequired")}
          </p>
        )}
        <p className="muted small">{t("retake.hint")}</p>
        <button type="submit" disabled={action.isPending}>
          {t("retake.submit")}
        </button>
        <ErrorMessage error={action.error} />
      </form>
    </details>
  );
}
