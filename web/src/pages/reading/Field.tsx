// A labelled control whose label is a sibling, not a wrapper: a wrapping <label> would add the control's text
// (a textarea's content, a select's chosen option) to the label text that getByLabel and some screen readers use.
import type { ReactNode, TextareaHTMLAttributes } from "react";

export function Field({ id, label, children, className }: { id: string; label: ReactNode; children: ReactNode; className?: string }) {
  return (
    <div className={className ? `rd-field ${className}` : "rd-field"}>
      <label htmlFor={id}>{label}</label>
      {children}
    </div>
  );
}

/** A field's error, announced when it appears; its id is what the control's aria-describedby names. */
export function FieldError({ id, message }: { id: string; message?: string | null }) {
  return message ? (
    <span id={id} role="alert" className="rd-field-error">
      {message}
    </span>
  ) : null;
}

/**
 * A labelled textarea with an optional hint and error. While there is an error the control is marked invalid and
 * described by the error; otherwise by the hint, if any.
 */
export function TextAreaField({
  id,
  label,
  error,
  errorId,
  hint,
  ...textarea
}: {
  id: string;
  label: ReactNode;
  error?: string | null;
  errorId: string;
  hint?: { id: string; text: ReactNode };
} & Omit<TextareaHTMLAttributes<HTMLTextAreaElement>, "id" | "aria-invalid" | "aria-describedby">) {
  return (
    <Field id={id} label={label}>
      <textarea id={id} aria-invalid={error ? true : undefined} aria-describedby={error ? errorId : hint?.id} {...textarea} />
      {hint && (
        <span id={hint.id} className="muted small">
          {hint.text}
        </span>
      )}
      <FieldError id={errorId} message={error} />
    </Field>
  );
}
