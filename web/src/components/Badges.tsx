// Small, colour-plus-text indicators (never colour alone): case state, priority and the SLA with a countdown.
import { useSyncExternalStore } from "react";
import { useTranslation } from "react-i18next";

import { OPEN_STATES, type Priority, type Referral, type ReferralState, type SlaStatus } from "../api/types";

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

// One clock for every countdown on the page: a worklist shows hundreds of SLA badges, and a timer (and a state)
// per badge made the first render of 200 rows measurably slower.
const clock = { now: Date.now(), timer: 0, listeners: new Set<() => void>() };

function subscribeToClock(listener: () => void): () => void {
  if (clock.listeners.size === 0) {
    clock.now = Date.now();
    clock.timer = window.setInterval(() => {
      clock.now = Date.now();
      clock.listeners.forEach((notify) => notify());
    }, 1000);
  }
  clock.listeners.add(listener);
  return () => {
    clock.listeners.delete(listener);
    if (clock.listeners.size === 0) window.clearInterval(clock.timer);
  };
}

function useNow(): number {
  return useSyncExternalStore(subscribeToClock, () => clock.now);
}

export function SlaBadge({
  referral,
}: {
  referral: Pick<Referral, "sla_status" | "sla_due_at"> & { state?: ReferralState };
}) {
  const { t } = useTranslation();
  const now = useNow();
  const status: SlaStatus = referral.sla_status;
  // A finished case that missed its target stays "breached", without a clock still counting how overdue it is.
  const finished = referral.state !== undefined && !OPEN_STATES.includes(referral.state);
  const open = !finished && (status === "on_track" || status === "at_risk" || status === "breached");
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
