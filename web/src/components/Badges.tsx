// Small, colour-plus-text indicators (never colour alone): case state, priority and the SLA with a countdown.
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";

import type { Priority, Referral, ReferralState, SlaStatus } from "../api/types";

export function StateBadge({ state }: { state: ReferralState }) {
  const { t } = useTranslation();
  return <span className={`badge state-${state}`}>{t(`state.${state}`)}</span>;
}

export function PriorityBadge({ priority }: { priority: Priority }) {
  const { t } = useTranslation();
  return <span className={`badge priority-${priority}`}>{t(`priority.${priority}`)}</span>;
}

/** "1 h 05 min" / "3 d 2 h": the coarse units a person reads at a glance. */
export function formatDuration(ms: number): string {
  const minutes = Math.floor(Math.abs(ms) / 60_000);
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const mins = minutes % 60;
  if (days > 0) return `${days} d ${hours} h`;
  if (hours > 0) return `${hours} h ${String(mins).padStart(2, "0")} min`;
  if (minutes > 0) return `${mins} min`;
  return `${Math.floor(Math.abs(ms) / 1000)} s`;
}

function useNow(intervalMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), intervalMs);
    return () => window.clearInterval(timer);
  }, [intervalMs]);
  return now;
}

export function SlaBadge({ referral }: { referral: Pick<Referral, "sla_status" | "sla_due_at"> }) {
  const { t } = useTranslation();
  const now = useNow();
  const status: SlaStatus = referral.sla_status;
  const open = status === "on_track" || status === "at_risk" || status === "breached";
  let countdown = "";
  if (open && referral.sla_due_at) {
    const left = new Date(referral.sla_due_at).getTime() - now;
    countdown = left >= 0 ? t("sla.dueIn", { time: formatDuration(left) }) : t("sla.overdue", { time: formatDuration(left) });
  }
  return (
    <span className={`badge sla-${status.replace("/", "")}`} data-sla={status}>
      {t(`sla.${status}`)}
      {countdown && <span className="countdown"> · {countdown}</span>}
    </span>
  );
}
