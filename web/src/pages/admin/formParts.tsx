// Small pieces the admin forms share: a labelled field with its error (ours translated, the server's verbatim),
// a save that puts the server's field problems next to their fields, the form's buttons, and a two-step button
// for changes that are hard to undo.
import { useId, useState, type ReactNode } from "react";
import type { FieldError, FieldErrors, FieldValues, UseFormReturn } from "react-hook-form";
import { useTranslation } from "react-i18next";
import { useNavigate } from "react-router-dom";

import { ErrorMessage } from "../../components/ErrorMessage";
import { showServerErrors, type FieldProblem } from "./adminApi";

/** The error at a dotted path of RHF's nested errors. */
export function errorAt<T extends FieldValues>(errors: FieldErrors<T>, path: string): FieldError | undefined {
  let node: unknown = errors;
  for (const part of path.split(".")) node = (node as Record<string, unknown> | undefined)?.[part];
  return node && typeof node === "object" && "message" in node ? (node as FieldError) : undefined;
}

export function errorMessage(error: FieldError | undefined, t: (key: string, options?: Record<string, unknown>) => string) {
  if (!error?.message) return null;
  // Our schema's messages are keys; the server's come in its own words.
  return error.type === "server" ? error.message : t(`admin:v.${error.message}`, { defaultValue: error.message });
}

/**
 * A <label for> and its control, then the hint and the error. The control is rendered by `children(props)` and must
 * spread them: its id (the label is not wrapped around it, so a select's options never become part of the label's
 * text) and aria-describedby pointing at the hint and the error.
 */
export function Field({
  label,
  error,
  hint,
  className,
  children,
}: {
  label: string;
  error?: FieldError;
  hint?: string;
  className?: string;
  children: (props: { id: string; "aria-invalid": boolean; "aria-describedby"?: string }) => ReactNode;
}) {
  const { t } = useTranslation("admin");
  const id = useId();
  const message = errorMessage(error, t);
  const describedBy = [hint ? `${id}-hint` : "", message ? `${id}-error` : ""].filter(Boolean).join(" ") || undefined;
  return (
    <div className={`field ${className ?? ""}`}>
      <label htmlFor={`${id}-control`}>{label}</label>
      {children({ id: `${id}-control`, "aria-invalid": !!message, "aria-describedby": describedBy })}
      {hint && (
        <p id={`${id}-hint`} className="muted small field-hint">
          {hint}
        </p>
      )}
      {message && (
        <p id={`${id}-error`} className="field-error small" role="alert">
          {message}
        </p>
      )}
    </div>
  );
}

/** First click asks, second confirms: for deactivation, which locks a person out or stops an agreement. */
export function ConfirmButton({
  label,
  question,
  confirmLabel,
  onConfirm,
  pending,
}: {
  label: string;
  question: string;
  confirmLabel: string;
  onConfirm: () => void;
  pending?: boolean;
}) {
  const { t } = useTranslation();
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return (
      <button type="button" onClick={() => setAsking(true)} disabled={pending}>
        {label}
      </button>
    );
  }
  return (
    <span role="alertdialog" aria-label={question} className="confirm">
      <span className="small">{question}</span>{" "}
      <button
        type="button"
        className="danger"
        autoFocus
        onClick={() => {
          setAsking(false);
          onConfirm();
        }}
      >
        {confirmLabel}
      </button>{" "}
      <button type="button" onClick={() => setAsking(false)}>
        {t("action.cancel")}
      </button>
    </span>
  );
}

export interface SaveFailure {
  error: unknown;
  /** The server's problems that name no field on the form. */
  unplaced: FieldProblem[];
}

/**
 * The form's submit handler: validates, then `save`s the values. A rejected save puts the server's field problems
 * next to the `fields` they name (see showServerErrors for `rename`) and keeps the rest as the failure to show.
 */
export function useSaveSubmit<T extends FieldValues>(
  form: UseFormReturn<T>,
  save: (values: T) => Promise<unknown>,
  fields: readonly string[],
  rename?: Record<string, string>,
) {
  const [failure, setFailure] = useState<SaveFailure | null>(null);
  const submit = form.handleSubmit(async (values) => {
    setFailure(null);
    try {
      await save(values);
    } catch (error) {
      setFailure({ error, unplaced: showServerErrors(error, form.setError, fields, rename) });
    }
  });
  return { submit, failure };
}

/** Why the last save failed: the server's message, then the problems no field could show. */
export function SaveFailureNotice({ failure }: { failure: SaveFailure | null }) {
  if (!failure) return null;
  return (
    <>
      <ErrorMessage error={failure.error} />
      <ProblemList problems={failure.unplaced} />
    </>
  );
}

/** Save (busy while the save is under way) and Cancel, which goes back to the list. */
export function FormButtons({ pending }: { pending: boolean }) {
  const { t } = useTranslation("admin");
  const navigate = useNavigate();
  return (
    <div className="row">
      <button type="submit" className="primary" disabled={pending}>
        {pending ? t("saving") : t("common:action.save")}
      </button>
      <button type="button" onClick={() => navigate("..")}>
        {t("common:action.cancel")}
      </button>
    </div>
  );
}

/** Whether an entity that is never deleted (an agreement, an account) is in use. */
export function ActiveBadge({ active }: { active: boolean }) {
  const { t } = useTranslation("admin");
  return <span className={`badge ${active ? "sla-on_track" : "sla-paused"}`}>{active ? t("active") : t("inactive")}</span>;
}

/** Deactivate (asking first: it locks a person out or stops an agreement) or, when inactive, Activate. */
export function ActiveToggle({
  active,
  question,
  pending,
  onChange,
}: {
  active: boolean;
  question: string;
  pending: boolean;
  onChange: (active: boolean) => void;
}) {
  const { t } = useTranslation("admin");
  return active ? (
    <ConfirmButton
      label={t("deactivate")}
      question={question}
      confirmLabel={t("confirmDeactivate")}
      pending={pending}
      onConfirm={() => onChange(false)}
    />
  ) : (
    <button type="button" disabled={pending} onClick={() => onChange(true)}>
      {t("activate")}
    </button>
  );
}

export function ProblemList({ problems }: { problems: { field: string; problem: string }[] }) {
  if (problems.length === 0) return null;
  return (
    <ul className="error small" role="alert">
      {problems.map((p) => (
        <li key={p.field + p.problem}>
          <code>{p.field}</code>: {p.problem}
        </li>
      ))}
    </ul>
  );
}

/** A list filter: a <select> with its own label (by id, so the options are not read as part of the label). */
export function FilterSelect({
  label,
  value,
  onChange,
  children,
}: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  children: ReactNode;
}) {
  const id = useId();
  return (
    <div className="filter-field">
      <label htmlFor={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
        {children}
      </select>
    </div>
  );
}
