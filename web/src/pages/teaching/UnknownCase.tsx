// Unknown-case mode (/teaching/:id/unknown): the history and the images first; the doctor writes an impression, then
// the answer is revealed beside it, finding by finding (present / absent / uncertain, as report search tags them).
import { useMutation, useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router-dom";

import { api, ok } from "../../api/client";
import { ErrorMessage, Loading } from "../../components/ErrorMessage";
import { Images } from "./TeachingCasePage";
import type { Attempt } from "./api";

function status(t: (k: string) => string, value: string | null): string {
  return t(`unknown.status.${value ?? "none"}`);
}

export function ComparisonTable({ attempt }: { attempt: Attempt }) {
  const { t } = useTranslation("teaching");
  const c = attempt.comparison;
  return (
    <section className="card comparison" aria-labelledby="comparison-title" data-testid="comparison">
      <h2 id="comparison-title">{t("unknown.comparison")}</h2>
      <p role="status">{t("unknown.summary", { agreed: c.agreed, total: c.findings.length })}</p>
      {c.missed.length > 0 && <p>{t("unknown.missed", { items: c.missed.join("、") })}</p>}
      {c.extra.length > 0 && <p>{t("unknown.extra", { items: c.extra.join("、") })}</p>}
      <table>
        <thead>
          <tr>
            <th scope="col">{t("unknown.finding")}</th>
            <th scope="col">{t("unknown.expert")}</th>
            <th scope="col">{t("unknown.yours")}</th>
            <th scope="col">{t("unknown.agrees")}</th>
          </tr>
        </thead>
        <tbody>
          {c.findings.map((f) => (
            <tr key={f.concept} className={f.agrees ? "agrees" : "differs"}>
              <td>{f.concept}</td>
              <td>{status(t, f.expert)}</td>
              <td>{status(t, f.yours)}</td>
              <td>{f.agrees ? t("unknown.yes") : t("unknown.no")}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function AnswerPanel({ attempt }: { attempt: Attempt }) {
  const { t } = useTranslation("teaching");
  const a = attempt.answer;
  return (
    <section className="card answer" aria-labelledby="answer-title" data-testid="answer">
      <h2 id="answer-title">{t("unknown.answer")}</h2>
      <dl className="facts">
        <dt>{t("case.diagnosis")}</dt>
        <dd>
          {a.diagnosis} {a.icd10 && <span className="muted">({a.icd10})</span>}
        </dd>
        {a.differential.length > 0 && (
          <>
            <dt>{t("case.differential")}</dt>
            <dd>{a.differential.join("；")}</dd>
          </>
        )}
        <dt>{t("case.certainty")}</dt>
        <dd>{t(`certainty.${a.certainty}`)}</dd>
      </dl>
      <h3 className="h4">{t("unknown.expertFindings")}</h3>
      <p className="report-text">{a.findings}</p>
      <h3 className="h4">{t("unknown.expertImpression")}</h3>
      <p className="report-text">{a.impression}</p>
      {a.teaching_points && (
        <>
          <h3 className="h4">{t("case.teachingPoints")}</h3>
          <p className="report-text">{a.teaching_points}</p>
        </>
      )}
    </section>
  );
}

export default function UnknownCase() {
  const { id = "" } = useParams();
  const { t } = useTranslation("teaching");
  const [impression, setImpression] = useState("");
  const question = useQuery({
    queryKey: ["teaching-unknown", id],
    queryFn: () => ok(api.GET("/api/teaching/cases/{case_id}/unknown", { params: { path: { case_id: id } } })),
  });
  const attempt = useMutation({
    mutationFn: () =>
      ok(api.POST("/api/teaching/cases/{case_id}/attempts", { params: { path: { case_id: id } }, body: { impression } })),
  });
  if (question.isPending) return <Loading />;
  if (question.error) return <ErrorMessage error={question.error} onRetry={() => void question.refetch()} />;
  const q = question.data;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (impression.trim()) attempt.mutate();
  };
  return (
    <div className="unknown-case">
      <div className="row between">
        <h1>{t("unknown.title")}</h1>
        <Link to="/teaching">{t("case.back")}</Link>
      </div>
      <p className="muted">{t("unknown.intro")}</p>
      <div className="split">
        <div>
          <section className="card" aria-labelledby="history-title">
            <h2 id="history-title">{t("unknown.history")}</h2>
            <p className="muted small">
              {q.modality} {q.body_part} · {t(`difficulty.${q.difficulty}`)} · {t("unknown.patient")}:{" "}
              {[q.patient.sex, q.patient.age_band].filter(Boolean).join(", ") || "—"}
            </p>
            <p className="report-text" data-testid="unknown-history">
              {q.history}
            </p>
            {q.attempts > 0 && <p className="muted small">{t("unknown.attempts", { count: q.attempts })}</p>}
          </section>
          {attempt.data ? (
            <>
              <section className="card">
                <h2 className="h4">{t("unknown.impression")}</h2>
                <p className="report-text">{attempt.data.impression}</p>
              </section>
              <ComparisonTable attempt={attempt.data} />
              <AnswerPanel attempt={attempt.data} />
              <button
                type="button"
                onClick={() => {
                  attempt.reset();
                  setImpression("");
                }}
              >
                {t("unknown.again")}
              </button>
            </>
          ) : (
            <form onSubmit={submit} className="card">
              <label>
                {t("unknown.impression")}
                <textarea
                  name="impression"
                  value={impression}
                  onChange={(e) => setImpression(e.target.value)}
                  rows={5}
                  maxLength={8000}
                  required
                />
              </label>
              <ErrorMessage error={attempt.error} />
              <button type="submit" className="primary" disabled={!impression.trim() || attempt.isPending}>
                {t("unknown.submit")}
              </button>
            </form>
          )}
        </div>
        <Images studyUid={q.study_instance_uid} />
      </div>
    </div>
  );
}
