// "My consults": upcoming first with how long until each starts (a reminder on screen, beside the inbox's
// day-before and 15-minute notices), then those requested and waiting to be scheduled, then the past.
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router-dom";

import { useMe } from "../../auth/session";
import { ErrorMessage, Loading } from "../../components/ErrorMessage";
import { useFormatDuration } from "../../i18n/duration";
import { formatDateTime } from "../../i18n/format";
import { allowsConsult, useConsults, type Consult } from "./consultApi";

const SOON_MS = 15 * 60_000;
/** Who may schedule a consult at once (the server decides; this only chooses whether to show the link). */
export const SCHEDULERS = ["expert", "senior", "coordinator"];

export function ConsultStateBadge({ state }: { state: Consult["state"] }) {
  const { t } = useTranslation("consult");
  return <span className={`badge consult-${state}`}>{t(`state.${state}`)}</span>;
}

function useNow(everyMs = 30_000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}

function Reminder({ consult, now }: { consult: Consult; now: number }) {
  const { t } = useTranslation("consult");
  const duration = useFormatDuration();
  if (consult.state === "open") return <strong className="ok">{t("list.openNow")}</strong>;
  if (!consult.starts_at) return null;
  const left = new Date(consult.starts_at).getTime() - now;
  if (left <= 0) return null;
  return (
    <span className={left <= SOON_MS ? "warning-text" : "muted"}>
      {t(left <= SOON_MS ? "list.startsSoon" : "list.startsIn", { time: duration(left) })}
    </span>
  );
}

function Rows({ items, now }: { items: Consult[]; now: number }) {
  const { t, i18n } = useTranslation("consult");
  if (items.length === 0) return <p className="muted">{t("list.none")}</p>;
  return (
    <ul className="consult-list">
      {items.map((c) => (
        <li key={c.id} className="card">
          <div className="row">
            <ConsultStateBadge state={c.state} />
            <Link to={`/consults/${c.id}`}>
              <strong>{c.title}</strong>
            </Link>
            <span className="spacer" />
            {allowsConsult(c, "join") && (
              <Link className="button primary" to={`/consults/${c.id}/room`}>
                {t("list.join")}
              </Link>
            )}
          </div>
          <div className="small">
            {c.starts_at ? formatDateTime(c.starts_at, i18n.language) : t("detail.notScheduled")}
            {c.duration_minutes ? ` · ${t("detail.duration", { minutes: c.duration_minutes })}` : ""} ·{" "}
            <Reminder consult={c} now={now} />
          </div>
        </li>
      ))}
    </ul>
  );
}

export default function ConsultList() {
  const { t } = useTranslation("consult");
  const me = useMe();
  const consults = useConsults();
  const now = useNow();
  if (consults.isPending) return <Loading />;
  if (consults.error) return <ErrorMessage error={consults.error} onRetry={() => void consults.refetch()} />;
  const all = consults.data.items;
  const byStart = (a: Consult, b: Consult) => (a.starts_at ?? "").localeCompare(b.starts_at ?? "");
  const upcoming = all.filter((c) => c.state === "open" || c.state === "scheduled").sort(byStart);
  const requested = all.filter((c) => c.state === "requested");
  const past = all.filter((c) => c.state === "concluded" || c.state === "cancelled" || c.state === "closed").sort((a, b) => byStart(b, a));
  return (
    <div className="page consults">
      <div className="row">
        <h1>{t("list.title")}</h1>
        <span className="spacer" />
        {SCHEDULERS.includes(me.role) && (
          <Link className="button primary" to="/consults/new">
            {t("list.schedule")}
          </Link>
        )}
      </div>
      <section aria-labelledby="upcoming">
        <h2 id="upcoming">{t("list.upcoming")}</h2>
        <Rows items={upcoming} now={now} />
      </section>
      <section aria-labelledby="requested">
        <h2 id="requested">{t("list.requested")}</h2>
        <Rows items={requested} now={now} />
      </section>
      <section aria-labelledby="past">
        <h2 id="past">{t("list.past")}</h2>
        <Rows items={past} now={now} />
      </section>
    </div>
  );
}
