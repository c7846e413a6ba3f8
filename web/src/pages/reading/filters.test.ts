import { describe, expect, it } from "vitest";

import type { Referral } from "../../api/types";
import { apiFilter, DEFAULT_VIEW, paramsFromView, sortRows, viewFromParams } from "./filters";

describe("worklist filters in the URL", () => {
  it("reads every filter from the search params", () => {
    const view = viewFromParams(
      new URLSearchParams("state=preliminary&state=offered&priority=stat&modality=ct&hospital=h-anping&sort=submitted&dir=desc"),
    );
    expect(view).toEqual({
      state: ["offered", "preliminary"],
      priority: "stat",
      modality: "CT",
      hospital_id: "h-anping",
      sort: "submitted",
      dir: "desc",
    });
  });

  it("drops values the API would refuse", () => {
    expect(viewFromParams(new URLSearchParams("state=bogus&priority=asap&modality=c;t&sort=nope&dir=up"))).toEqual(DEFAULT_VIEW);
  });

  it("writes only non-default values and round-trips", () => {
    expect(paramsFromView(DEFAULT_VIEW).toString()).toBe("");
    const view = { ...DEFAULT_VIEW, state: ["in_reading" as const, "changes_requested" as const], modality: "MR", hospital_id: "h-q" };
    const params = paramsFromView(view);
    expect(params.getAll("state")).toEqual(["in_reading", "changes_requested"]);
    expect(params.get("hospital")).toBe("h-q");
    expect(params.has("sort")).toBe(false);
    expect(viewFromParams(params)).toEqual(view);
  });

  it("maps the view to the API's query (no sort, no empty values)", () => {
    expect(apiFilter({ ...DEFAULT_VIEW, priority: "urgent", sort: "priority" })).toEqual({ priority: "urgent" });
    expect(apiFilter({ ...DEFAULT_VIEW, state: ["offered"], hospital_id: "h-a" })).toEqual({ state: ["offered"], hospital_id: "h-a" });
  });
});

describe("sortRows", () => {
  const r = (id: string, priority: Referral["priority"], submitted_at: string) => ({ id, priority, submitted_at }) as Referral;
  const rows = [r("a", "routine", "2026-01-01"), r("b", "stat", "2026-01-03"), r("c", "urgent", "2026-01-02")];
  it("keeps the server's SLA order by default and sorts by a column on request", () => {
    expect(sortRows(rows, "sla", "asc", String).map((x) => x.id)).toEqual(["a", "b", "c"]);
    expect(sortRows(rows, "priority", "asc", String).map((x) => x.id)).toEqual(["b", "c", "a"]);
    expect(sortRows(rows, "submitted", "desc", String).map((x) => x.id)).toEqual(["b", "c", "a"]);
  });
});
