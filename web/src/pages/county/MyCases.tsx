// The county doctor's cases (the server scopes the list to their hospital), most urgent first, live.
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate, useSearchParams } from "react-router-dom";

import { useReferrals } from "../../api/hooks";
import { ALL_STATES, OPEN_STATES, type Priority, type Referral, type ReferralState } from "../../api/types";
import { PriorityBadge, SlaBadge, StateBadge } from "../../components/Badges";
import { ErrorMessage, Loading } from "../../components/ErrorMessage";
import { formatDateTime } from "../../i18n/format";

const PRIORITY_RANK: Record<Priority, number> = { stat: 0, urgent: 1, routine: 2 };

/** Open cases first, then by priority, then by the nearest SLA deadline; closed ones newest first. */
export function byUrgency(a: Referral, b: Referral): number {
  const openA = OPEN_STATES.includes(a.state) ? 0 : 1;
  const openB = OPEN_STATES.includes(b.state) ? 0 : 1;
  if (openA !== openB) return openA - openB;
  if (openA === 0) {
    if (a.priority !== b.priority) return PRIORITY_RANK[a.priority] - PRIORITY_RANK[b.priority];
    const due = (r: Referral) => (r.sla_due_at ? Date.parse(r.sla_due_at) : Number.MAX_SAFE_INTEGER);
    return due(a) - due(b);
  }
  return Date.parse(b.submitted_at) - Date.parse(a.submitted_at);
}

type StateFilter = "open" | "all" | ReferralState;

export default function MyCases() {
  const { t, i18n } = useTranslation("county");
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const [filter, setFilter] = useState<StateFilter>((params.get("state") as StateFilter) ?? "open");
  const states = filter === "open" ? OPEN_STATES : filter === "all" ? undefined : [filter];
  const query = useReferrals({ state: states, limit: 500 });
  const rows = [...(query.data?.items ?? [])].sort(byUrgency);

  const changeFilter = (value: StateFilter) => {
    setFilter(value);
    setParams(value === "open" ? {} : { state: value }, { replace: true });
  };

  return (
    <div className="my-cases">
      <div className="row between">
        <h1>{t("cases.title")}</h1>
        <Link to="/cases/new" className="button primary">
          {t("cases.newReferral")}
        </Link>
      </div>
      <div className="filters">
        <div className="field">
          <label htmlFor="cases-state">{t("cases.filterState")}</label>
          <select id="cases-state" value={filter} onChange={(e) => changeFilter(e.target.value as StateFilter)}>
            <option value="open">{t("cases.openStates")}</option>
            <option value="all">{t("cases.allStates")}</option>
            {ALL_STATES.map((s) => (
              <option key={s} value={s}>
                {t(`common:state.${s}`)}
              </option>
            ))}
          </select>
        </div>
        {query.data && (
          <span className="muted small" role="status">
            {t("cases.count", { count: rows.length })}
          </span>
        )}
      </div>
      {query.isLoading && <Loading />}
      <ErrorMessage error={query.error} onRetry={() => void query.refetch()} />
      {query.data && rows.length === 0 && <p className="muted">{t("cases.none")}</p>}
      {rows.length > 0 && (
        <table className="responsive cases-table">
          <caption className="visually-hidden">{t("cases.title")}</caption>
          <thead>
            <tr>
              <th scope="col">{t("cases.col.case")}</th>
              <th scope="col">{t("cases.col.exam")}</th>
              <th scope="col">{t("cases.col.state")}</th>
              <th scope="col">{t("cases.col.priority")}</th>
              <th scope="col">{t("cases.col.sla")}</th>
              <th scope="col">{t("cases.col.submitted")}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.id} className="clickable" data-testid={`case-row-${r.id}`} onClick={() => navigate(`/cases/${r.id}`)}>
                <td data-label={t("cases.col.case")}>
                  <div className="case-cell">
                    <Link to={`/cases/${r.id}`} onClick={(e) => e.stopPropagation()} aria-label={t("cases.open", { id: r.id })}>
                      {r.id}
                    </Link>
                    {r.critical_open && <span className="badge critical-dot"> {t("case.critical")}</span>}
                    <div className="muted small clamp">{r.clinical_question}</div>
                  </div>
                </td>
                <td data-label={t("cases.col.exam")}>
                  {r.modality} · {r.body_part}
                </td>
                <td data-label={t("cases.col.state")}>
                  <StateBadge state={r.state} />
                </td>
                <td data-label={t("cases.col.priority")}>
                  <PriorityBadge priority={r.priority} />
                </td>
                <td data-label={t("cases.col.sla")}>
                  <SlaBadge referral={r} />
                </td>
                <td data-label={t("cases.col.submitted")}>
                  <time dateTime={r.submitted_at}>{formatDateTime(r.submitted_at, i18n.language)}</time>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
