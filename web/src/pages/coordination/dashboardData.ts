// The dashboard's data shaping: the API's rows (GET /api/dashboard) into chart series, table rows and tiles.
// Pure functions, so the charts and the risk table can be tested without a server.
import { OPEN_STATES, PRIORITIES, type Priority, type ReferralState } from "../../api/types";

import type { Dashboard, StateCount, Turnaround } from "../../api/generated/schema";

type NameOf = (hospitalId: string) => string;

// ---- the date range --------------------------------------------------------------------------------
/** "2026-11-01T00:00:00+08:00": the API needs a time zone, and the coordinator thinks in local days. */
export function isoWithOffset(date: Date): string {
  const pad = (n: number) => String(Math.trunc(Math.abs(n))).padStart(2, "0");
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}` +
    `${sign}${pad(offset / 60)}:${pad(offset % 60)}`
  );
}

/** yyyy-mm-dd of a local day (the value of <input type="date">). */
export function dayString(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

function localMidnight(day: string): Date {
  const [y, m, d] = day.split("-").map(Number);
  return new Date(y, m - 1, d);
}

/** The API's [from, to): from the start of the first day to the start of the day after the last. */
export function rangeQuery(fromDay: string, toDay: string): { from: string; to: string } {
  const end = localMidnight(toDay);
  end.setDate(end.getDate() + 1);
  return { from: isoWithOffset(localMidnight(fromDay)), to: isoWithOffset(end) };
}

/** The last `days` days, today included. */
export function lastDays(days: number, today: Date = new Date()): { from: string; to: string } {
  const start = new Date(today.getFullYear(), today.getMonth(), today.getDate());
  start.setDate(start.getDate() - (days - 1));
  return { from: dayString(start), to: dayString(today) };
}

// ---- tiles -----------------------------------------------------------------------------------------
export interface Kpis {
  open: number;
  atRisk: number;
  breached: number;
  finals: number;
}

const OPEN = new Set<string>(OPEN_STATES);

export function kpis(data: Dashboard): Kpis {
  return {
    open: data.counts.filter((c) => OPEN.has(c.state)).reduce((sum, c) => sum + c.count, 0),
    atRisk: data.at_risk_total, // the lists hold the first 200; the totals count them all
    breached: data.breaches_total,
    finals: data.turnaround.reduce((sum, row) => sum + row.count, 0),
  };
}

// ---- charts ----------------------------------------------------------------------------------------
export type StackedRow = { hospital: string; hospitalId: string; total: number } & Partial<Record<ReferralState, number>>;

/** Open cases per requesting hospital, one stack segment per state; `states` lists the segments present, in workflow order. */
export function openCasesByHospital(counts: StateCount[], nameOf: NameOf): { rows: StackedRow[]; states: ReferralState[] } {
  const byHospital = new Map<string, StackedRow>();
  const present = new Set<ReferralState>();
  for (const c of counts) {
    if (!OPEN.has(c.state) || c.count <= 0) continue;
    const row = byHospital.get(c.requesting_hospital_id) ?? {
      hospital: nameOf(c.requesting_hospital_id),
      hospitalId: c.requesting_hospital_id,
      total: 0,
    };
    row[c.state] = (row[c.state] ?? 0) + c.count;
    row.total += c.count;
    byHospital.set(c.requesting_hospital_id, row);
    present.add(c.state);
  }
  const rows = [...byHospital.values()].sort((a, b) => b.total - a.total || a.hospital.localeCompare(b.hospital));
  return { rows, states: OPEN_STATES.filter((s) => present.has(s)) };
}

// Two decimals: the demo alliance has turnarounds of seconds, which one decimal would round to an empty bar.
const round2 = (n: number) => Math.round(n * 100) / 100;

export interface PriorityTurnaround {
  priority: Priority;
  count: number;
  p50: number;
  p90: number;
}

/**
 * Turnaround per priority across hospitals. The API gives percentiles per (priority, hospital); percentiles do not
 * add up, so across hospitals this is the case-weighted mean of each hospital's percentile (exact with one hospital).
 */
export function turnaroundByPriority(rows: Turnaround[]): PriorityTurnaround[] {
  const out: PriorityTurnaround[] = [];
  for (const priority of PRIORITIES) {
    const mine = rows.filter((r) => r.priority === priority && r.count > 0 && r.p50_minutes !== null);
    const count = mine.reduce((sum, r) => sum + r.count, 0);
    if (count === 0) continue;
    const weighted = (pick: (r: Turnaround) => number) => mine.reduce((sum, r) => sum + pick(r) * r.count, 0) / count;
    out.push({
      priority,
      count,
      p50: round2(weighted((r) => r.p50_minutes ?? 0)),
      p90: round2(weighted((r) => r.p90_minutes ?? r.p50_minutes ?? 0)),
    });
  }
  return out;
}

export type HospitalTurnaround = { hospital: string; hospitalId: string } & Partial<
  Record<`${Priority}_p50` | `${Priority}_p90` | `${Priority}_count`, number>
>;

/** One row per requesting hospital with each priority's median and p90 (the API's own numbers, rounded). */
export function turnaroundByHospital(rows: Turnaround[], nameOf: NameOf): HospitalTurnaround[] {
  const byHospital = new Map<string, HospitalTurnaround>();
  for (const r of rows) {
    if (r.p50_minutes === null) continue;
    const row = byHospital.get(r.requesting_hospital_id) ?? {
      hospital: nameOf(r.requesting_hospital_id),
      hospitalId: r.requesting_hospital_id,
    };
    row[`${r.priority}_p50`] = round2(r.p50_minutes);
    row[`${r.priority}_p90`] = round2(r.p90_minutes ?? r.p50_minutes);
    row[`${r.priority}_count`] = r.count;
    byHospital.set(r.requesting_hospital_id, row);
  }
  return [...byHospital.values()].sort((a, b) => a.hospital.localeCompare(b.hospital));
}

// ---- the risk table --------------------------------------------------------------------------------
export interface RiskRow {
  id: string;
  sla: "breached" | "at_risk";
  requesting_hospital_id: string;
  priority: Priority;
  state: ReferralState;
  reader: string | null;
  offered: boolean;
  sla_due_at: string | null;
  finished: boolean;
}

const due = (row: RiskRow) => (row.sla_due_at ? new Date(row.sla_due_at).getTime() : Number.POSITIVE_INFINITY);

/**
 * Breached cases first (longest overdue at the top), then those at risk, soonest due first. Breached cases that are
 * already reported are kept out unless asked for: they need no action, and would push the live ones down.
 */
export function riskRows(data: Pick<Dashboard, "at_risk" | "breaches">, includeFinished = false): RiskRow[] {
  const breached: RiskRow[] = data.breaches
    .map((b) => ({
      id: b.id,
      sla: "breached" as const,
      requesting_hospital_id: b.requesting_hospital_id,
      priority: b.priority,
      state: b.state,
      reader: b.reader_id,
      offered: false,
      sla_due_at: b.sla_due_at,
      finished: !OPEN.has(b.state),
    }))
    .filter((b) => includeFinished || !b.finished);
  const seen = new Set(breached.map((b) => b.id));
  const atRisk: RiskRow[] = data.at_risk
    .filter((a) => !seen.has(a.id))
    .map((a) => ({
      id: a.id,
      sla: "at_risk" as const,
      requesting_hospital_id: a.requesting_hospital_id,
      priority: a.priority,
      state: a.state,
      reader: a.reader_id ?? a.offered_to ?? null,
      offered: !a.reader_id && !!a.offered_to,
      sla_due_at: a.sla_due_at,
      finished: false,
    }));
  const byDue = (a: RiskRow, b: RiskRow) => due(a) - due(b) || a.id.localeCompare(b.id);
  // Open breaches before reported ones, each group by due time.
  breached.sort((a, b) => Number(a.finished) - Number(b.finished) || byDue(a, b));
  atRisk.sort(byDue);
  return [...breached, ...atRisk];
}

// ---- duration axes ---------------------------------------------------------------------------------
export type DurationUnit = "s" | "min" | "h" | "d";

const MINUTES_PER: Record<DurationUnit, number> = { s: 1 / 60, min: 1, h: 60, d: 24 * 60 };
// Steps people count in: 15 or 30 seconds and minutes, 6 or 12 hours, a week; past them, 1-2-5 steps.
const STEPS: Record<DurationUnit, number[]> = {
  s: [1, 2, 5, 10, 15, 20, 30],
  min: [1, 2, 5, 10, 15, 20, 30, 60],
  h: [1, 2, 3, 4, 6, 8, 12, 24],
  d: [1, 2, 5, 7, 10, 14],
};

export interface DurationAxis {
  /** The unit every tick is labelled in: seconds, minutes, hours or days, whichever suits the largest value. */
  unit: DurationUnit;
  /** Tick positions in minutes (the data's unit), from 0 up to the first step at or above the largest value. */
  ticks: number[];
}

function stepFor(unit: DurationUnit, span: number, maxIntervals: number): number {
  for (const step of STEPS[unit]) if (Math.ceil(span / step - 1e-9) <= maxIntervals) return step;
  for (let base = 10; ; base *= 10) {
    for (const m of [1, 2, 5]) if (m * base > STEPS[unit].at(-1)! && Math.ceil(span / (m * base) - 1e-9) <= maxIntervals) return m * base;
  }
}

/**
 * A value axis for durations in minutes whose ticks are whole numbers of one unit, evenly spaced from zero: no
 * repeated labels such as "0.1 min, 0.1 min" when every turnaround is a few seconds, no "1440 min" when it is a day.
 */
export function durationAxis(maxMinutes: number, maxIntervals = 5): DurationAxis {
  const max = Number.isFinite(maxMinutes) && maxMinutes > 0 ? maxMinutes : 0;
  const unit: DurationUnit = max < 2 ? "s" : max < 180 ? "min" : max < 72 * 60 ? "h" : "d";
  const span = max / MINUTES_PER[unit];
  const step = stepFor(unit, span, maxIntervals);
  const intervals = Math.max(1, Math.ceil(span / step - 1e-9));
  return { unit, ticks: Array.from({ length: intervals + 1 }, (_, i) => i * step * MINUTES_PER[unit]) };
}

/** A tick (in minutes) as a number of the axis's unit; whole by construction, rounded against float noise. */
export function tickValue(minutes: number, unit: DurationUnit): number {
  return Math.round((minutes / MINUTES_PER[unit]) * 1000) / 1000;
}

/** A duration for people: "45 s", "18 min", "7 h 24 min", "2 d 3 h"; the key and values for the i18n layer. */
export function durationWords(minutes: number): { key: "s" | "min" | "hmin" | "dh"; values: Record<string, number> } {
  const m = Math.max(0, minutes);
  if (m < 1) return { key: "s", values: { n: Math.round(m * 60) } };
  if (m < 59.5) return { key: "min", values: { n: Math.round(m) } };
  if (m < 24 * 60 - 0.5) {
    const rounded = Math.round(m);
    return { key: "hmin", values: { h: Math.floor(rounded / 60), m: rounded % 60 } };
  }
  const hours = Math.round(m / 60);
  return { key: "dh", values: { d: Math.floor(hours / 24), h: hours % 24 } };
}
