// The reader's report editor: a template per modality/body part with structured fields, findings and impression,
// the critical-finding flag, draft autosave, and the preliminary submission behind a confirmation.
import { useEffect, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";

import { errorText } from "../../components/ErrorMessage";
import { ConfirmStep } from "./ConfirmStep";
import { Field, TextAreaField } from "./Field";
import { useAutosave, type Autosave, type ReportBody } from "./autosave";
import {
  ALL_TEMPLATES,
  structuredFor,
  templateById,
  templateFor,
  templateForDraft,
  textIn,
  type ReportTemplate,
} from "./templates";

export function StructuredFields({
  template,
  values,
  onChange,
  disabled = false,
}: {
  template: ReportTemplate;
  values: Record<string, string>;
  onChange: (key: string, value: string) => void;
  disabled?: boolean;
}) {
  const { t, i18n } = useTranslation("reading");
  const lang = i18n.language;
  return (
    <fieldset className="rd-structured" disabled={disabled}>
      <legend>{t("editor.structured")}</legend>
      <div className="rd-structured-grid">
        {template.fields.map((field) => (
          <Field key={field.key} id={`sf-${field.key}`} label={textIn(field.label, lang)}>
            {field.type === "select" ? (
              <select id={`sf-${field.key}`} value={values[field.key] ?? ""} onChange={(e) => onChange(field.key, e.target.value)}>
                <option value="">{t("editor.notStated")}</option>
                {field.options?.map((o) => (
                  <option key={o.value} value={o.value}>
                    {textIn(o.label, lang)}
                  </option>
                ))}
              </select>
            ) : (
              <input
                id={`sf-${field.key}`}
                value={values[field.key] ?? ""}
                inputMode={field.unit === "mm" ? "decimal" : undefined}
                maxLength={200}
                onChange={(e) => onChange(field.key, e.target.value)}
              />
            )}
          </Field>
        ))}
      </div>
    </fieldset>
  );
}

function pad(n: number): string {
  return String(n).padStart(2, "0");
}
export function clock(date: Date): string {
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

export function SaveStatusLine({ autosave, lastSavedAt }: { autosave: Autosave; lastSavedAt: Date | null }) {
  const { t } = useTranslation("reading");
  const at = autosave.savedAt ?? lastSavedAt;
  if (autosave.status === "error")
    return (
      <div role="alert" className="error save-status">
        {t("editor.saveFailed", { message: errorText(autosave.error, t) })}{" "}
        <button type="button" className="link" onClick={() => void autosave.flush().catch(() => undefined)}>
          {t("editor.saveNow")}
        </button>
      </div>
    );
  let text = "";
  if (autosave.status === "saving") text = t("editor.saving");
  else if (autosave.status === "pending") text = t("editor.unsaved");
  else if (at) text = t("editor.savedAt", { time: clock(at) });
  return (
    <p role="status" aria-live="polite" className="muted small save-status" data-testid="save-status">
      {text}
    </p>
  );
}

export interface ReportEditorProps {
  modality: string;
  bodyPart: string;
  /** The latest draft (or the preliminary report sent back for changes); null for a fresh report. */
  initial: ReportBody | null;
  initialSavedAt: Date | null;
  onSaveDraft: (body: ReportBody) => Promise<unknown>;
  onSubmit: (body: ReportBody) => Promise<unknown>;
  editable: boolean;
  autosaveDelay?: number;
}

type Errors = Partial<Record<"findings" | "impression" | "critical_note", string>>;

export function validateReport(body: ReportBody, t: (key: string) => string): Errors {
  const errors: Errors = {};
  if (!body.findings.trim()) errors.findings = t("editor.required.findings");
  if (!body.impression.trim()) errors.impression = t("editor.required.impression");
  if (body.critical && !body.critical_note.trim()) errors.critical_note = t("editor.required.criticalNote");
  return errors;
}

export function ReportEditor({
  modality,
  bodyPart,
  initial,
  initialSavedAt,
  onSaveDraft,
  onSubmit,
  editable,
  autosaveDelay = 3000,
}: ReportEditorProps) {
  const { t, i18n } = useTranslation("reading");
  const lang = i18n.language;
  // Everything below starts from the props once: later refetches of the case must not overwrite what is typed.
  const [start] = useState(() => {
    const template = initial ? templateForDraft(modality, bodyPart, initial.structured) : templateFor(modality, bodyPart);
    const body: ReportBody = initial ?? {
      findings: textIn(template.findings, lang),
      impression: "",
      structured: {},
      critical: false,
      critical_note: "",
    };
    return { template, body };
  });
  const [templateId, setTemplateId] = useState(start.template.id);
  const [findings, setFindings] = useState(start.body.findings);
  const [impression, setImpression] = useState(start.body.impression);
  const [values, setValues] = useState<Record<string, string>>(start.body.structured);
  const [critical, setCritical] = useState(start.body.critical);
  const [criticalNote, setCriticalNote] = useState(start.body.critical_note);
  const [errors, setErrors] = useState<Errors>({});
  const [confirming, setConfirming] = useState(false);
  const [submitting, setSubmitting] = useState(false);
  const [submitError, setSubmitError] = useState<unknown>(null);
  const template = templateById(templateId);

  const body = useMemo<ReportBody>(
    () => ({
      findings,
      impression,
      structured: structuredFor(template, values),
      critical,
      critical_note: critical ? criticalNote : "",
    }),
    [findings, impression, template, values, critical, criticalNote],
  );
  const autosave = useAutosave(body, onSaveDraft, { saved: start.body, delay: autosaveDelay, enabled: editable });
  const { flush, dirty } = autosave;

  // A draft typed in the last seconds is saved when the reader leaves (in-app) or warned about (tab close).
  useEffect(() => () => void flush().catch(() => undefined), [flush]);
  useEffect(() => {
    if (!dirty || !editable) return;
    const warn = (e: BeforeUnloadEvent) => {
      e.preventDefault();
      e.returnValue = "";
    };
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [dirty, editable]);

  const askSubmit = () => {
    const found = validateReport(body, t);
    setErrors(found);
    setSubmitError(null);
    setConfirming(Object.keys(found).length === 0);
  };
  const submit = async () => {
    setSubmitting(true);
    setSubmitError(null);
    try {
      await flush();
      await onSubmit(body);
      setConfirming(false);
    } catch (error) {
      setSubmitError(error);
    } finally {
      setSubmitting(false);
    }
  };
  const insertTemplateText = () => {
    const text = textIn(template.findings, lang);
    if (!text) return;
    setFindings((old) => (old.trim() ? `${old.trimEnd()}\n\n${text}` : text));
  };

  return (
    <form
      className="report-editor"
      aria-labelledby="editor-title"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        askSubmit();
      }}
      onBlur={(e) => {
        // Leaving the editor (for the viewer, another page) saves; moving between its own fields does not.
        if (editable && !e.currentTarget.contains(e.relatedTarget as Node | null)) void flush().catch(() => undefined);
      }}
    >
      <div className="row between">
        <h2 id="editor-title">{t("editor.title")}</h2>
        {editable && <SaveStatusLine autosave={autosave} lastSavedAt={initialSavedAt} />}
      </div>
      <fieldset disabled={!editable || submitting} className="plain">
        <div className="row template-row">
          <Field id="report-template" label={t("editor.template")}>
            <select id="report-template" value={templateId} onChange={(e) => setTemplateId(e.target.value)}>
              {ALL_TEMPLATES.map((tpl) => (
                <option key={tpl.id} value={tpl.id}>
                  {textIn(tpl.name, lang)}
                </option>
              ))}
            </select>
          </Field>
          {textIn(template.findings, lang) && (
            <button type="button" onClick={insertTemplateText}>
              {t("editor.insertTemplate")}
            </button>
          )}
        </div>
        <StructuredFields template={template} values={values} onChange={(k, v) => setValues((old) => ({ ...old, [k]: v }))} />
        <TextAreaField
          id="report-findings"
          label={t("editor.findings")}
          error={errors.findings}
          errorId="err-findings"
          className="findings"
          value={findings}
          maxLength={20000}
          rows={9}
          onChange={(e) => setFindings(e.target.value)}
        />
        <TextAreaField
          id="report-impression"
          label={t("editor.impression")}
          error={errors.impression}
          errorId="err-impression"
          value={impression}
          maxLength={5000}
          rows={4}
          onChange={(e) => setImpression(e.target.value)}
        />
        <label className="inline critical-box">
          <input type="checkbox" checked={critical} onChange={(e) => setCritical(e.target.checked)} />
          {t("editor.critical")}
        </label>
        {critical && (
          <TextAreaField
            id="report-critical-note"
            label={t("editor.criticalNote")}
            error={errors.critical_note}
            errorId="err-critical_note"
            hint={{ id: "critical-hint", text: t("editor.criticalHint") }}
            value={criticalNote}
            maxLength={2000}
            rows={2}
            required
            onChange={(e) => setCriticalNote(e.target.value)}
          />
        )}
      </fieldset>
      {editable && !confirming && (
        <button type="submit" className="primary" disabled={submitting}>
          {t("editor.submit")}
        </button>
      )}
      {confirming && (
        <ConfirmStep
          textId="confirm-submit-text"
          text={t("editor.confirmText")}
          confirmLabel={t("editor.confirmSubmit")}
          pendingLabel={t("editor.submitting")}
          pending={submitting}
          onConfirm={() => void submit()}
          onCancel={() => setConfirming(false)}
        />
      )}
      {submitError != null && (
        <div role="alert" className="error">
          {errorText(submitError, t)}
        </div>
      )}
    </form>
  );
}
