// Quality audits (影像质控抽检): the coordinator samples graded studies of a sending hospital and month (at random, or
// the worst first), opens each sampled study, and records whether the reader's grade stands or what it should be.
// Every sample and outcome is recorded by the audit's workflow (POST /api/quality/audits, .../outcomes).
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useId, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router-dom";

import { api, ok } from "../../api/client";
import type { components } from "../../api/generated/schema";
import { useHospitals } from "../../api/hooks";
import { ErrorMessage } from "../../components/ErrorMessage";
import { formatDateTime } from "../../i18n/format";
import { DEFECTS, gradesFor } from "../reading/QualityPanel";

type Audit = components["schemas"]["QualityAudit"];
type Item = components["schemas"]["AuditItem"];

/** This month in the scorecards' time zone (Asia/Shanghai), as YYYY-MM. */
export function thisMonth(now = new Date()): string {
  const shanghai = new Date(now.getTime() + 8 * 3600_000);
  return shanghai.toISOString().slice(0, 7);
}

function gradeWord(t: (k: string) => string, scale: string, grade: string): string {
  return t(`reading:quality.grade.${scale === "xray" ? "xray" : "cross"}.${grade}`);
}

function NewAudit({ onMade }: { onMade: (id: string) => void }) {
  const { t } = useTranslation("coordination");
  const hospitals = useHospitals();
  const client = useQueryClient();
  const [hospital, setHospital] = useState("");
  const [month, setMonth] = useState(thisMonth());
  const [size, setSize] = useState(10);
  const [mode, setMode] = useState<"random" | "worst">("random");
  const id = useId();
  const make = useMutation({
    mutationFn: () =>
      ok(api.POST("/api/quality/audits", { body: { hospital_id: hospital, month, size, mode } })),
    onSuccess: (audit) => {
      void client.invalidateQueries({ queryKey: ["quality", "audits"] });
      onMade(audit.id);
    },
  });
  const senders = Object.values(hospitals.data ?? {}).filter((h) => h.level !== "tertiary");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (hospital) make.mutate();
  };
  return (
    <form className="row wrap audit-form" onSubmit={submit} aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`} className="visually-hidden">{t("sampling.new")}</h3>
      <label>
        {t("sampling.hospital")}
        <select value={hospital} onChange={(e) => setHospital(e.target.value)} required>
          <option value="">—</option>
          {senders.map((h) => (
            <option key={h.id} value={h.id}>
              {h.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t("sampling.month")}
        <input type="month" value={month} onChange={(e) => setMonth(e.target.value)} required />
      </label>
      <label>
        {t("sampling.size")}
        <input type="number" min={1} max={50} value={size} onChange={(e) => setSize(Number(e.target.value))} />
      </label>
      <label>
        {t("sampling.mode")}
        <select value={mode} onChange={(e) => setMode(e.target.value as "random" | "worst")}>
          <option value="random">{t("sampling.modes.random")}</option>
          <option value="worst">{t("sampling.modes.worst")}</option>
        </select>
      </label>
      <button type="submit" className="primary" disabled={!hospital || make.isPending}>
        {t("sampling.sample")}
      </button>
      <ErrorMessage error={make.error} />
    </form>
  );
}

function OutcomeForm({ auditId, item }: { auditId: string; item: Item }) {
  const { t } = useTranslation("coordination");
  const client = useQueryClient();
  const grades = gradesFor(item.modality).filter((g) => g !== item.grade);
  const [regrading, setRegrading] = useState(false);
  const [grade, setGrade] = useState("");
  const [reasons, setReasons] = useState<string[]>([]);
  const [comment, setComment] = useState("");
  const record = useMutation({
    mutationFn: (body: { verdict: "confirmed" | "regraded"; grade?: string; reasons?: string[]; comment?: string }) =>
      ok(
        api.POST("/api/quality/audits/{audit_id}/outcomes", {
          params: { path: { audit_id: auditId } },
          body: { referral_id: item.referral_id, grade: "", reasons: [], comment: "", ...body } as never,
        }),
      ),
    onSuccess: (audit) => {
      client.setQueryData(["quality", "audit", auditId], audit);
      void client.invalidateQueries({ queryKey: ["quality", "audits"] });
    },
  });
  return (
    <div className="audit-outcome">
      <div className="row wrap">
        <button type="button" disabled={record.isPending} onClick={() => record.mutate({ verdict: "confirmed" })}>
          {t("sampling.confirm")}
        </button>
        <button type="button" aria-expanded={regrading} onClick={() => setRegrading(!regrading)}>
          {t("sampling.regrade")}
        </button>
      </div>
      {regrading && (
        <form
          className="audit-regrade"
          onSubmit={(e) => {
            e.preventDefault();
            record.mutate({ verdict: "regraded", grade, reasons, comment });
          }}
        >
          <label>
            {t("sampling.auditorGrade")}
            <select value={grade} onChange={(e) => setGrade(e.target.value)} required>
              <option value="">—</option>
              {grades.map((g) => (
                <option key={g} value={g}>
                  {gradeWord(t, item.scale, g)}
                </option>
              ))}
            </select>
          </label>
          <fieldset className="plain">
            <legend>{t("sampling.reasons")}</legend>
            <div className="row wrap">
              {DEFECTS.map((r) => (
                <label key={r} className="inline">
                  <input
                    type="checkbox"
                    checked={reasons.includes(r)}
                    onChange={(e) => setReasons(e.target.checked ? [...reasons, r] : reasons.filter((x) => x !== r))}
                  />{" "}
                  {t(`common:defect.${r}`)}
                </label>
              ))}
            </div>
          </fieldset>
          <label>
            {t("sampling.comment")}
            <textarea value={comment} onChange={(e) => setComment(e.target.value)} rows={2} maxLength={4000} required />
          </label>
          <button type="submit" className="primary" disabled={!grade || !comment.trim() || record.isPending}>
            {t("sampling.saveRegrade")}
          </button>
        </form>
      )}
      <ErrorMessage error={record.error} />
    </div>
  );
}

function AuditDetail({ auditId, nameOf }: { auditId: string; nameOf: (id: string) => string }) {
  const { t, i18n } = useTranslation("coordination");
  const query = useQuery({
    queryKey: ["quality", "audit", auditId],
    queryFn: () => ok(api.GET("/api/quality/audits/{audit_id}", { params: { path: { audit_id: auditId } } })),
  });
  const audit: Audit | undefined = query.data;
  if (!audit) return <ErrorMessage error={query.error} />;
  const reasons = (rs: string[]) => rs.map((r) => t(`common:defect.${r}`)).join(t("common:listSeparator"));
  return (
    <div className="audit-detail" data-testid={`audit-${audit.id}`}>
      <h3>
        {t("sampling.detail", { hospital: nameOf(audit.hospital_id), month: audit.month, mode: t(`sampling.modes.${audit.mode}`) })}{" "}
        <span className="badge">{t(`sampling.states.${audit.state}`)}</span>
      </h3>
      <div className="table-scroll">
        <table className="audit-items">
          <thead>
            <tr>
              <th>{t("sampling.case")}</th>
              <th>{t("sampling.technician")}</th>
              <th>{t("sampling.readerGrade")}</th>
              <th>{t("sampling.outcome")}</th>
            </tr>
          </thead>
          <tbody>
            {audit.items.map((item) => (
              <tr key={item.referral_id} data-testid={`audit-item-${item.referral_id}`}>
                <td>
                  <Link to={`/cases/${item.referral_id}`}>{item.modality}</Link>{" "}
                  <span className="muted small">{item.referral_id}</span>
                </td>
                <td>{item.technician || t("quality.noTechnician")}</td>
                <td>
                  {gradeWord(t, item.scale, item.grade)}
                  {item.reasons.length > 0 && <span className="muted small"> · {reasons(item.reasons)}</span>}
                </td>
                <td>
                  {item.verdict === null ? (
                    <OutcomeForm auditId={audit.id} item={item} />
                  ) : (
                    <>
                      <strong>{t(`sampling.verdicts.${item.verdict}`)}</strong>
                      {item.auditor_grade && ` → ${gradeWord(t, item.scale, item.auditor_grade)}`}
                      {item.auditor_reasons.length > 0 && ` · ${reasons(item.auditor_reasons)}`}
                      {item.comment && <p className="small report-text">{item.comment}</p>}
                      <p className="muted small">
                        {item.audited_by} · {item.audited_at ? formatDateTime(item.audited_at, i18n.language) : ""}
                      </p>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

export function QualityAudits({ nameOf }: { nameOf: (id: string) => string }) {
  const { t } = useTranslation("coordination");
  const [open, setOpen] = useState<string | null>(null);
  const list = useQuery({
    queryKey: ["quality", "audits"],
    queryFn: () => ok(api.GET("/api/quality/audits")),
  });
  return (
    <section className="card quality-audits" aria-labelledby="audits-heading">
      <h2 id="audits-heading">{t("sampling.title")}</h2>
      <p className="muted small">{t("sampling.hint")}</p>
      <NewAudit onMade={setOpen} />
      <ErrorMessage error={list.error} />
      {list.data && list.data.items.length === 0 && <p className="muted">{t("sampling.none")}</p>}
      {list.data && list.data.items.length > 0 && (
        <ul className="audit-list">
          {list.data.items.map((a) => (
            <li key={a.id}>
              <button type="button" className="link" aria-expanded={open === a.id} onClick={() => setOpen(open === a.id ? null : a.id)}>
                {t("sampling.row", {
                  hospital: nameOf(a.hospital_id),
                  month: a.month,
                  mode: t(`sampling.modes.${a.mode}`),
                  recorded: a.recorded,
                  total: a.total,
                })}
              </button>{" "}
              <span className="badge">{t(`sampling.states.${a.state}`)}</span>
            </li>
          ))}
        </ul>
      )}
      {open && <AuditDetail auditId={open} nameOf={nameOf} />}
    </section>
  );
}
