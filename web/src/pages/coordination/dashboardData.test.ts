import { describe, expect, it } from "vitest";

import type { AtRiskCase, BreachedCase, Dashboard } from "../../api/generated/schema";

import {
  durationAxis,
  durationWords,
  kpis,
  lastDays,
  openCasesByHospital,
  rangeQuery,
  riskRows,
  tickValue,
  turnaroundByHospital,
  turnaroundByPriority,
} from "./dashboardData";

const names: Record<string, string> = { "h-anping": "Anping", "h-qingshan": "Qingshan" };
const nameOf = (id: string) => names[id] ?? id;

describe("openCasesByHospital", () => {
  it("stacks open states per hospital, leaves finished ones out, and lists the states present in workflow order", () => {
    const { rows, states } = openCasesByHospital(
      [
        { requesting_hospital_id: "h-anping", state: "in_reading", count: 2 },
        { requesting_hospital_id: "h-anping", state: "offered", count: 3 },
        { requesting_hospital_id: "h-anping", state: "closed", count: 9 },
        { requesting_hospital_id: "h-qingshan", state: "needs_info", count: 1 },
        { requesting_hospital_id: "h-qingshan", state: "final", count: 4 },
      ],
      nameOf,
    );
    expect(states).toEqual(["offered", "in_reading", "needs_info"]);
    expect(rows).toEqual([
      { hospital: "Anping", hospitalId: "h-anping", total: 5, offered: 3, in_reading: 2 },
      { hospital: "Qingshan", hospitalId: "h-qingshan", total: 1, needs_info: 1 },
    ]);
  });

  it("gives no rows when nothing is open", () => {
    expect(openCasesByHospital([{ requesting_hospital_id: "h-anping", state: "closed", count: 2 }], nameOf)).toEqual({
      rows: [],
      states: [],
    });
  });
});

describe("turnaround", () => {
  const rows = [
    { priority: "urgent" as const, requesting_hospital_id: "h-anping", count: 3, p50_minutes: 60, p90_minutes: 100 },
    { priority: "urgent" as const, requesting_hospital_id: "h-qingshan", count: 1, p50_minutes: 100, p90_minutes: 200 },
    { priority: "stat" as const, requesting_hospital_id: "h-anping", count: 2, p50_minutes: 20.123, p90_minutes: 29.999 },
  ];

  it("per priority: in priority order, percentiles weighted by each hospital's cases", () => {
    expect(turnaroundByPriority(rows)).toEqual([
      { priority: "stat", count: 2, p50: 20.12, p90: 30 },
      { priority: "urgent", count: 4, p50: 70, p90: 125 },
    ]);
  });

  it("per hospital: one row per hospital with each priority's own numbers", () => {
    expect(turnaroundByHospital(rows, nameOf)).toEqual([
      { hospital: "Anping", hospitalId: "h-anping", urgent_p50: 60, urgent_p90: 100, urgent_count: 3, stat_p50: 20.12, stat_p90: 30, stat_count: 2 },
      { hospital: "Qingshan", hospitalId: "h-qingshan", urgent_p50: 100, urgent_p90: 200, urgent_count: 1 },
    ]);
  });
});

describe("riskRows", () => {
  const atRisk = (id: string, due: string): AtRiskCase => ({
    id,
    requesting_hospital_id: "h-anping",
    priority: "urgent",
    state: "offered",
    reader_id: null,
    offered_to: "wang.expert",
    sla_due_at: due,
  });
  const breach = (id: string, due: string, state: BreachedCase["state"] = "in_reading"): BreachedCase => ({
    id,
    requesting_hospital_id: "h-qingshan",
    priority: "stat",
    state,
    reader_id: "li.expert",
    sla_due_at: due,
    final_at: null,
  });
  const data = {
    at_risk: [atRisk("r-late", "2026-11-23T12:00:00Z"), atRisk("r-soon", "2026-11-23T10:00:00Z")],
    breaches: [
      breach("b-recent", "2026-11-23T09:00:00Z"),
      breach("b-done", "2026-11-22T01:00:00Z", "closed"),
      breach("b-oldest", "2026-11-22T08:00:00Z"),
    ],
  };

  it("puts breached cases first, then those at risk, each soonest due first, without reported breaches", () => {
    const rows = riskRows(data);
    expect(rows.map((r) => [r.id, r.sla])).toEqual([
      ["b-oldest", "breached"],
      ["b-recent", "breached"],
      ["r-soon", "at_risk"],
      ["r-late", "at_risk"],
    ]);
    expect(rows[2]).toMatchObject({ reader: "wang.expert", offered: true });
  });

  it("adds reported breaches after the open ones when asked", () => {
    expect(riskRows(data, true).map((r) => r.id)).toEqual(["b-oldest", "b-recent", "b-done", "r-soon", "r-late"]);
  });
});

describe("kpis and the range", () => {
  it("counts open cases, risks, breaches and finals", () => {
    const data: Dashboard = {
      from: "",
      to: "",
      counts: [
        { requesting_hospital_id: "h-anping", state: "offered", count: 2 },
        { requesting_hospital_id: "h-anping", state: "closed", count: 5 },
      ],
      at_risk: [],
      at_risk_total: 0,
      breaches: [],
      breaches_total: 312, // more than the 200 listed: the tile counts them all
      turnaround: [{ priority: "routine", requesting_hospital_id: "h-anping", count: 5, p50_minutes: 1, p90_minutes: 2 }],
    };
    expect(kpis(data)).toEqual({ open: 2, atRisk: 0, breached: 312, finals: 5 });
  });

  it("sends whole local days with a time zone, the last day included", () => {
    const { from, to } = rangeQuery("2026-11-01", "2026-11-07");
    expect(from).toMatch(/^2026-11-01T00:00:00[+-]\d\d:\d\d$/);
    expect(to).toMatch(/^2026-11-08T00:00:00[+-]\d\d:\d\d$/);
    expect(lastDays(7, new Date(2026, 10, 23, 15, 0))).toEqual({ from: "2026-11-17", to: "2026-11-23" });
  });
});

describe("durationAxis", () => {
  const labels = (max: number) => {
    const axis = durationAxis(max);
    return { unit: axis.unit, values: axis.ticks.map((m) => tickValue(m, axis.unit)) };
  };

  it("labels a demo's few-second turnarounds in whole seconds, not a column of '0.1 min'", () => {
    expect(labels(0.12)).toEqual({ unit: "s", values: [0, 2, 4, 6, 8] });
    expect(labels(0.05)).toEqual({ unit: "s", values: [0, 1, 2, 3] });
  });

  it("counts minutes, hours and days in steps people use", () => {
    expect(labels(41)).toEqual({ unit: "min", values: [0, 10, 20, 30, 40, 50] });
    expect(labels(150)).toEqual({ unit: "min", values: [0, 30, 60, 90, 120, 150] });
    expect(labels(1700)).toEqual({ unit: "h", values: [0, 6, 12, 18, 24, 30] });
    expect(labels(5000)).toEqual({ unit: "d", values: [0, 1, 2, 3, 4] });
    expect(labels(60 * 24 * 400)).toEqual({ unit: "d", values: [0, 100, 200, 300, 400] });
  });

  it("gives an axis with one step when there is nothing to show", () => {
    expect(labels(0)).toEqual({ unit: "s", values: [0, 1] });
    expect(labels(Number.NaN)).toEqual({ unit: "s", values: [0, 1] });
  });

  it("always ends at or above the largest value, with at most six whole, distinct, evenly spaced labels", () => {
    for (let max = 0.001; max < 60 * 24 * 60; max *= 1.07) {
      const { ticks, unit } = durationAxis(max);
      const values = ticks.map((m) => tickValue(m, unit));
      expect(ticks.length).toBeGreaterThanOrEqual(2);
      expect(ticks.length).toBeLessThanOrEqual(6);
      expect(ticks.at(-1)! + 1e-9).toBeGreaterThanOrEqual(max);
      expect(values.every(Number.isInteger)).toBe(true);
      expect(new Set(values).size).toBe(values.length);
      expect(new Set(values.slice(1).map((v, i) => v - values[i])).size).toBe(1);
    }
  });
});

describe("durationWords", () => {
  it("says a turnaround the way a coordinator would", () => {
    expect(durationWords(0.75)).toEqual({ key: "s", values: { n: 45 } });
    expect(durationWords(18.2)).toEqual({ key: "min", values: { n: 18 } });
    expect(durationWords(59.7)).toEqual({ key: "hmin", values: { h: 1, m: 0 } });
    expect(durationWords(443.5)).toEqual({ key: "hmin", values: { h: 7, m: 24 } });
    expect(durationWords(3000)).toEqual({ key: "dh", values: { d: 2, h: 2 } });
  });
});
