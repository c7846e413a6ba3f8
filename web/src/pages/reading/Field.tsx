// A labelled control whose label is a sibling, not a wrapper: a wrapping <label> would add the control's text
// (a textarea's content, a select's chosen option) to the label text that getByLabel and some screen readers use.
import type { ReactNode } from "react";

export function Field({ id, label, children, className }: { id: string; label: ReactNode; children: ReactNode; className?: string }) {
  return (
    <div className={className ? `rd-field ${className}` : "rd-field"}>
      <label htmlFor={id}>{label}</label>
      {children}
    </div>
  );
}
