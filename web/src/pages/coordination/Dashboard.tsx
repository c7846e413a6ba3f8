// The coordinator's live SLA dashboard: what needs action now first, then the period's figures as charts.
// Live: the query key starts with "dashboard", which live/LiveUpdates.tsx invalidates on every referral event
// (SLA warnings and breaches included), so a breach shows up without a reload; a 60 s refetch is the safety net.
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { useTranslation } from "react-i18next";

import { api, ok } from "../../api/client";
import { useHospitalName, useHospitals } from "../../api/hooks";
import { ErrorMessage, Loading } from "../../components/ErrorMessage";
import { useFormatDate } from "../../i18n/format";
import { OpenCasesChart, TurnaroundByHospitalChart, TurnaroundByPriorityChart } from "./DashboardCharts";
import {
  kpis,
  lastDays,
  openCasesByHospital,
  rangeQuery,
  riskRows,
  turnaroundByHospital,
  turnaroundByPriority,
  type Kpis,
} from "./dashboardData";
import { DateRangePicker, type DayRange } from "./DateRangePicker";
import { FilmSavingsCard } from "./FilmSavingsCard";
import { QualityAudits } from "./QualityAudits";
import { QualityScorecards } from "./QualityScorecards";
import { RiskTable } from "./RiskTable";

export function useDashboard(range: DayRange) {
  const { from, to } = rangeQuery(range.from, range.to);
  return useQuery({
    queryKey: ["dashboard", from, to],
    queryFn: () => ok(api.GET("/api/dashboard", { params: { query: { from, to } } })),
    refetchInterval: 60_000,
    refetchIntervalInBackground: true, // a wall screen in a background tab stays current
    placeholderData: keepPreviousData, // changing the range keeps the old figures on screen until the new ones arrive
  });
}

export function KpiTiles({ values }: { values: Kpis }) {
  const { t } = useTranslation("coordination");
  const tiles: { key: keyof Kpis; tone: string }[] = [
    { key: "open", tone: "" },
    { key: "atRisk", tone: values.atRisk > 0 ? "kpi-warn" : "" },
    { key: "breached", tone: values.breached > 0 ? "kpi-bad" : "" },
    { key: "finals", tone: "" },
  ];
  return (
    <section className="kpis" aria-label={t("kpi.label")}>
      {tiles.map(({ key, tone }) => (
        <div key={key} className={`kpi ${tone}`} data-testid={`kpi-${key}`}>
          <strong>{values[key]}</strong>
          <span>{t(`kpi.${key}`)}</span>
        </div>
      ))}
    </section>
  );
}

export default function Dashboard() {
  const { t } = useTranslation("coordination");
  const when = useFormatDate();
  const nameOf = useHospitalName();
  const hospitals = useHospitals().data;
  const [range, setRange] = useState<DayRange>(() => lastDays(30));
  const [includeReported, setIncludeReported] = useState(false);
  const query = useDashboard(range);
  const data = query.data;

  const shaped = useMemo(() => {
    if (!data) return null;
    return {
      kpis: kpis(data),
      open: openCasesByHospital(data.counts, nameOf),
      byPriority: turnaroundByPriority(data.turnaround),
      byHospital: turnaroundByHospital(data.turnaround, nameOf),
    };
  }, [data, hospitals]); // eslint-disable-line react-hooks/exhaustive-deps -- nameOf is derived from hospitals
  const risks = useMemo(() => (data ? riskRows(data, includeReported) : []), [data, includeReported]);

  return (
    <div className="dashboard">
      <div className="row between">
        <h1>{t("title")}</h1>
        <span className="muted small" role="status" aria-live="polite">
          {query.isFetching ? t("refreshing") : query.dataUpdatedAt ? t("updatedAt", { time: when(query.dataUpdatedAt, "time") }) : ""}
        </span>
      </div>
      <DateRangePicker value={range} onChange={setRange} />
      {query.error && <ErrorMessage error={query.error} onRetry={() => void query.refetch()} />}
      {!data && query.isLoading && <Loading />}
      {data && shaped && (
        <>
          <KpiTiles values={shaped.kpis} />
          <section className="card" aria-labelledby="risk-heading">
            <div className="row between">
              <h2 id="risk-heading">{t("risk.title")}</h2>
              <label className="inline small">
                <input type="checkbox" checked={includeReported} onChange={(e) => setIncludeReported(e.target.checked)} />
                {t("risk.includeReported")}
              </label>
            </div>
            <RiskTable rows={risks} nameOf={nameOf} />
          </section>
          <section aria-labelledby="charts-heading">
            <h2 id="charts-heading">{t("charts.title")}</h2>
            <div className="chart-grid">
              <OpenCasesChart rows={shaped.open.rows} states={shaped.open.states} />
              <TurnaroundByPriorityChart rows={shaped.byPriority} />
              <TurnaroundByHospitalChart rows={shaped.byHospital} />
            </div>
          </section>
          <QualityScorecards nameOf={nameOf} />
          <FilmSavingsCard nameOf={nameOf} />
          <QualityAudits nameOf={nameOf} />
        </>
      )}
    </div>
  );
}
