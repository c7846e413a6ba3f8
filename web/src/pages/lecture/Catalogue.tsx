// The lecture catalogue (/lectures): live and upcoming first, then replays, then the past; organisers schedule.
import { useTranslation } from "react-i18next";
import { Link } from "react-router-dom";

import { useMe } from "../../auth/session";
import { ErrorMessage, Loading } from "../../components/ErrorMessage";
import { formatDateTime } from "../../i18n/format";
import { useLectures, type Lecture } from "./api";

/** Who may schedule (the server decides; this only chooses whether to show the link). */
export const ORGANISERS = ["educator", "coordinator"];

export function LectureStateBadge({ state }: { state: Lecture["state"] }) {
  const { t } = useTranslation("lecture");
  return <span className={`badge lecture-${state}`}>{t(`state.${state}`)}</span>;
}

function Rows({ items }: { items: Lecture[] }) {
  const { t, i18n } = useTranslation("lecture");
  if (items.length === 0) return <p className="muted">{t("catalogue.none")}</p>;
  return (
    <ul className="lecture-list">
      {items.map((l) => (
        <li key={l.id} className="card">
          <div className="row">
            <LectureStateBadge state={l.state} />
            <Link to={`/lectures/${l.id}`}>
              <strong>{l.title}</strong>
            </Link>
            <span className="spacer" />
            {l.registered && <span className="badge">{t("catalogue.registered")}</span>}
          </div>
          <div className="small">
            {formatDateTime(l.starts_at, i18n.language)} · {t("catalogue.credit", { credit: l.credit })} ·{" "}
            {l.audience_hospital_ids.length === 0
              ? t("catalogue.everyone")
              : t("catalogue.hospitals", { count: l.audience_hospital_ids.length })}
          </div>
        </li>
      ))}
    </ul>
  );
}

export default function Catalogue() {
  const { t } = useTranslation("lecture");
  const me = useMe();
  const lectures = useLectures();
  if (lectures.isPending) return <Loading />;
  if (lectures.error) return <ErrorMessage error={lectures.error} onRetry={() => void lectures.refetch()} />;
  const all = lectures.data.items;
  const byStart = (a: Lecture, b: Lecture) => a.starts_at.localeCompare(b.starts_at);
  const upcoming = all.filter((l) => l.state === "live" || l.state === "scheduled").sort(byStart);
  const replays = all.filter((l) => l.state === "published");
  const past = all.filter((l) => l.state === "ended" || l.state === "cancelled");
  return (
    <div className="page lectures">
      <div className="row">
        <h1>{t("catalogue.title")}</h1>
        <span className="spacer" />
        <Link to="/lectures/credits">{t("nav.credits")}</Link>
        {ORGANISERS.includes(me.role) && (
          <Link className="button primary" to="/lectures/new">
            {t("catalogue.schedule")}
          </Link>
        )}
      </div>
      <section aria-labelledby="upcoming">
        <h2 id="upcoming">{t("catalogue.upcoming")}</h2>
        <Rows items={upcoming} />
      </section>
      <section aria-labelledby="replays">
        <h2 id="replays">{t("catalogue.replays")}</h2>
        <Rows items={replays} />
      </section>
      <section aria-labelledby="past">
        <h2 id="past">{t("catalogue.past")}</h2>
        <Rows items={past} />
      </section>
    </div>
  );
}
