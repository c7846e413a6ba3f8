// Small, colour-plus-text indicators (never colour alone): case state, priority and the SLA with a countdown.
import { useSyncExternalStore } from "react";
import { useTranslation } from "react-i18next";

import { OPEN_STATES, type Priority, type Referral, type ReferralState, type SlaStatus } from "../api/types";
import { useFormatDuration } from "../i18n/duration";

export function StateBadge({ state }: { state: ReferralState }) {
  const { t } = useTranslation();
  return <span className={`badge state-${state}`}>{t(`state.${state}`)}</span>;
}

export function PriorityBadge({ priority }: { priority: Priority }) {
  const { t } = useTranslation();
  return <span className={`badge priority-${priority}`}>{t(`priority.${priority}`)}</span>;
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
  const formatDuration = useFormatDuration();
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
