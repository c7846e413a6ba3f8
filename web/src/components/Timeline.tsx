// The case's story from its audit trail: when, who, what happened in words, the state change and any comment.
import { useTranslation } from "react-i18next";

import type { AuditEvent } from "../api/types";
import { formatDateTime } from "../i18n/format";

/** Details worth showing a person, in this order; the rest (notification routing, ids) is for auditors. */
const SHOWN_DETAILS = ["clinical_question", "request", "answer", "reason", "comment", "comments", "discrepancy"] as const;

/** Who an event's user ids refer to, by name where the trail knows one. */
export function namesFromAudit(events: AuditEvent[]): Record<string, string> {
  const names: Record<string, string> = {};
  for (const e of events) if (e.actor_name) names[e.actor_id] = e.actor_name;
  return names;
}

function offerTarget(event: AuditEvent, names: Record<string, string>): string {
  const candidates = event.details.candidates;
  const id = Array.isArray(candidates) && typeof candidates[0] === "string" ? candidates[0] : "";
  return id ? (names[id] ?? id) : "—";
}

export function Timeline({ events, names = {} }: { events: AuditEvent[]; names?: Record<string, string> }) {
  const { t, i18n } = useTranslation("county");
  if (events.length === 0) return <p className="muted">{t("timeline.empty")}</p>;
  const ordered = [...events].sort((a, b) => a.seq - b.seq);
  const known = { ...namesFromAudit(events), ...names };
  return (
    <ol className="timeline" aria-label={t("case.timeline")}>
      {ordered.map((e) => {
        const words = t(`timeline.action.${e.action}`, {
          defaultValue: e.action.replace(/_/g, " "),
          target: offerTarget(e, known),
          version: String(e.details.version ?? ""),
          action: e.action,
        });
        const who =
          e.actor_role === "system"
            ? t("timeline.system")
            : `${e.actor_name ?? known[e.actor_id] ?? e.actor_id} (${t(`common:role.${e.actor_role}`)})`;
        const changed = e.from_state && e.from_state !== e.to_state;
        return (
          <li key={e.seq} data-action={e.action}>
            <div className="row">
              <time dateTime={e.at} className="muted small">
                {formatDateTime(e.at, i18n.language)}
              </time>
              <strong className="timeline-what">{words}</strong>
            </div>
            <div className="small">
              {who}
              {changed && (
                <span className="muted">
                  {" · "}
                  {t("timeline.from", {
                    from: t(`common:state.${e.from_state}`),
                    to: t(`common:state.${e.to_state}`),
                  })}
                </span>
              )}
            </div>
            {SHOWN_DETAILS.filter((key) => typeof e.details[key] === "string" && e.details[key] !== "").map((key) => (
              <p key={key} className="timeline-detail small">
                <span className="muted">{t(`timeline.detail.${key}`)}: </span>
                {String(e.details[key])}
              </p>
            ))}
          </li>
        );
      })}
    </ol>
  );
}
