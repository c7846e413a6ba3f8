// The dashboard's charts. Each sits in a <figure> with a caption, an accessible name, and a data table that a
// screen reader user (or anyone who wants the exact numbers) can open instead.
import { useId, useState, type ReactElement, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";

import { PRIORITIES, type ReferralState } from "../../api/types";
import {
  durationAxis,
  durationWords,
  tickValue,
  type HospitalTurnaround,
  type PriorityTurnaround,
  type StackedRow,
} from "./dashboardData";

/**
 * The value axis and tooltip of a turnaround chart (data in minutes): ticks in whole seconds, minutes, hours or days
 * chosen from the largest value, so labels never repeat; tooltips in words ("7 h 24 min").
 */
function useDurationScale(values: (number | undefined)[]) {
  const { t } = useTranslation("coordination");
  const axis = durationAxis(Math.max(0, ...values.filter((v): v is number => typeof v === "number")));
  const tickFormatter = (minutes: number) =>
    minutes === 0 ? "0" : t(`charts.duration.${axis.unit}`, { n: tickValue(minutes, axis.unit) });
  const inWords = (minutes: unknown) => {
    const { key, values: parts } = durationWords(Number(minutes));
    return t(`charts.duration.${key}`, parts);
  };
  return {
    yAxis: { ticks: axis.ticks, domain: [0, axis.ticks[axis.ticks.length - 1]], interval: 0 as const, tickFormatter, width: 80 },
    tooltip: { formatter: inWords },
  };
}

const STATE_COLOURS: Partial<Record<ReferralState, string>> = {
  submitted: "#5b6478",
  awaiting_images: "#9aa3b5",
  offered: "#4b48c7",
  in_reading: "#0b6bcb",
  needs_info: "#a15c00",
  preliminary: "#2a9d8f",
  changes_requested: "#d4722a",
};
const PRIORITY_COLOURS = { stat: "#b42318", urgent: "#a15c00", routine: "#5b6478" } as const;
const P50 = "#0b6bcb";
const P90 = "#7db4f0";

function ChartFigure({
  title,
  caption,
  empty,
  chart,
  table,
}: {
  title: string;
  caption: string;
  empty: boolean;
  chart: ReactElement;
  table: ReactNode;
}) {
  const { t } = useTranslation("coordination");
  const [showTable, setShowTable] = useState(false);
  const tableId = useId();
  const captionId = useId();
  return (
    <figure className="card chart-card">
      <figcaption>
        <h3>{title}</h3>
        <p id={captionId} className="muted small">
          {caption}
        </p>
      </figcaption>
      {empty ? (
        <p className="muted">{t("charts.noData")}</p>
      ) : (
        <>
          {/* The name is the title alone: short, and free of words like "from"/"to" that other labels on the page use. */}
          <div className="chart" role="img" aria-label={title} aria-describedby={captionId}>
            <ResponsiveContainer width="100%" height={260}>
              {chart}
            </ResponsiveContainer>
          </div>
          <button
            type="button"
            className="link small"
            aria-expanded={showTable}
            aria-controls={tableId}
            aria-label={`${showTable ? t("charts.hideTable") : t("charts.showTable")}: ${title}`}
            onClick={() => setShowTable(!showTable)}
          >
            {showTable ? t("charts.hideTable") : t("charts.showTable")}
          </button>
          <div id={tableId} hidden={!showTable}>
            {table}
          </div>
        </>
      )}
    </figure>
  );
}

export function OpenCasesChart({ rows, states }: { rows: StackedRow[]; states: ReferralState[] }) {
  const { t } = useTranslation("coordination");
  const stateName = (s: ReferralState) => t(`common:state.${s}`);
  return (
    <ChartFigure
      title={t("charts.openTitle")}
      caption={t("charts.openCaption")}
      empty={rows.length === 0}
      chart={
        <BarChart data={rows} margin={{ top: 8, right: 8, left: 0, bottom: 8 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} />
          <XAxis dataKey="hospital" tick={{ fontSize: 12 }} interval={0} />
          <YAxis allowDecimals={false} />
          <Tooltip />
          <Legend />
          {states.map((s) => (
            <Bar key={s} dataKey={s} name={stateName(s)} stackId="open" fill={STATE_COLOURS[s] ?? "#888"} isAnimationActive={false} />
          ))}
        </BarChart>
      }
      table={
        <table className="small">
          <caption className="visually-hidden">{t("charts.openTitle")}</caption>
          <thead>
            <tr>
              <th scope="col">{t("risk.hospital")}</th>
              {states.map((s) => (
                <th scope="col" key={s}>
                  {stateName(s)}
                </th>
              ))}
              <th scope="col">{t("charts.total")}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.hospitalId}>
                <th scope="row">{row.hospital}</th>
                {states.map((s) => (
                  <td key={s}>{row[s] ?? 0}</td>
                ))}
                <td>{row.total}</td>
              </tr>
            ))}
          </tbody>
        </table>
      }
    />
  );
}

export function TurnaroundByPriorityChart({ rows }: { rows: PriorityTurnaround[] }) {
  const { t } = useTranslation("coordination");
  const data = rows.map((r) => ({ ...r, name: t(`common:priority.${r.priority}`) }));
  const scale = useDurationScale(rows.flatMap((r) => [r.p50, r.p90]));
  return (
    <ChartFigure
      title={t("charts.priorityTitle")}
      caption={t("charts.priorityCaption")}
      empty={rows.length === 0}
      chart={
        <BarChart data={data} margin={{ top: 8, right: 8, left: 0, bottom: 8 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} />
          <XAxis dataKey="name" />
          <YAxis {...scale.yAxis} />
          <Tooltip {...scale.tooltip} />
          <Legend />
          <Bar dataKey="p50" name={t("charts.p50")} fill={P50} isAnimationActive={false} />
          <Bar dataKey="p90" name={t("charts.p90")} fill={P90} isAnimationActive={false} />
        </BarChart>
      }
      table={
        <table className="small">
          <caption className="visually-hidden">{t("charts.priorityTitle")}</caption>
          <thead>
            <tr>
              <th scope="col">{t("risk.priority")}</th>
              <th scope="col">{t("charts.cases")}</th>
              <th scope="col">{t("charts.p50Minutes")}</th>
              <th scope="col">{t("charts.p90Minutes")}</th>
            </tr>
          </thead>
          <tbody>
            {data.map((r) => (
              <tr key={r.priority}>
                <th scope="row">{r.name}</th>
                <td>{r.count}</td>
                <td>{r.p50}</td>
                <td>{r.p90}</td>
              </tr>
            ))}
          </tbody>
        </table>
      }
    />
  );
}

export function TurnaroundByHospitalChart({ rows }: { rows: HospitalTurnaround[] }) {
  const { t } = useTranslation("coordination");
  const scale = useDurationScale(rows.flatMap((r) => PRIORITIES.map((p) => r[`${p}_p50`])));
  return (
    <ChartFigure
      title={t("charts.hospitalTitle")}
      caption={t("charts.hospitalCaption")}
      empty={rows.length === 0}
      chart={
        <BarChart data={rows} margin={{ top: 8, right: 8, left: 0, bottom: 8 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} />
          <XAxis dataKey="hospital" tick={{ fontSize: 12 }} interval={0} />
          <YAxis {...scale.yAxis} />
          <Tooltip {...scale.tooltip} />
          <Legend />
          {PRIORITIES.map((p) => (
            <Bar
              key={p}
              dataKey={`${p}_p50`}
              name={t("charts.medianOf", { priority: t(`common:priority.${p}`) })}
              fill={PRIORITY_COLOURS[p]}
              isAnimationActive={false}
            />
          ))}
        </BarChart>
      }
      table={
        <table className="small">
          <caption className="visually-hidden">{t("charts.hospitalTitle")}</caption>
          <thead>
            <tr>
              <th scope="col">{t("risk.hospital")}</th>
              {PRIORITIES.map((p) => (
                <th scope="col" key={p}>
                  {t(`common:priority.${p}`)}: {t("charts.cases")} / {t("charts.p50Minutes")} / {t("charts.p90Minutes")}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.hospitalId}>
                <th scope="row">{r.hospital}</th>
                {PRIORITIES.map((p) => (
                  <td key={p}>
                    {r[`${p}_count`] === undefined ? "—" : `${r[`${p}_count`]} / ${r[`${p}_p50`]} / ${r[`${p}_p90`]}`}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      }
    />
  );
}
