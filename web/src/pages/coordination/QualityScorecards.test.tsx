import { screen } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { renderUi } from "../../test/render";
import { QualityScorecards } from "./QualityScorecards";

const answer = {
  by: "hospital",
  target: 0.9,
  since: "2026-06-01T00:00:00Z",
  until: "2026-12-07T00:00:00Z",
  items: [
    {
      subject: "h-anping",
      months: [
        { month: "2026-11", graded: 10, good: 9, share: 0.9 },
        { month: "2026-12", graded: 4, good: 3, share: 0.75 },
      ],
      latest_share: 0.75,
      trend: -0.15,
      meets_target: false,
      top_reasons: [{ reason: "positioning", count: 2 }],
    },
  ],
};

const byTechnician = {
  ...answer,
  by: "technician",
  items: [
    { ...answer.items[0], subject: "h-anping / 李技师", top_reasons: [{ reason: "motion", count: 1 }] },
    { ...answer.items[0], subject: "h-anping / ", meets_target: true, latest_share: 1, top_reasons: [] },
  ],
};

describe("QualityScorecards", () => {
  beforeEach(() => {
    vi.stubGlobal(
      "fetch",
      vi.fn(async (request: Request) => {
        const by = new URL(request.url).searchParams.get("by");
        const body = by === "technician" ? byTechnician : answer;
        return new Response(JSON.stringify(body), { headers: { "content-type": "application/json" } });
      }),
    );
  });
  afterEach(() => vi.unstubAllGlobals());

  it("shows each hospital's months against the target, the trend and the top defects", async () => {
    renderUi(<QualityScorecards nameOf={(id) => (id === "h-anping" ? "Anping County Hospital" : id)} />);
    const row = await screen.findByTestId("quality-h-anping");
    expect(row).toHaveTextContent("Anping County Hospital");
    expect(row).toHaveTextContent("75% below target");
    expect(row).toHaveTextContent("-15");
    expect(row).toHaveTextContent("positioning ×2");
    expect(row.querySelectorAll("rect")).toHaveLength(2);
    expect(screen.getAllByText("Good images by month (target 90%)")).toHaveLength(2);
  });

  it("has a table per technician of each hospital, a study without Operators' Name under its own row", async () => {
    renderUi(<QualityScorecards nameOf={(id) => (id === "h-anping" ? "Anping County Hospital" : id)} />, { lang: "zh" });
    const tech = await screen.findByTestId("quality-h-anping / 李技师");
    expect(tech).toHaveTextContent("Anping County Hospital / 李技师");
    expect(tech).toHaveTextContent("运动伪影 ×1");
    expect(screen.getByTestId("quality-h-anping /") /* the testing library trims */).toHaveTextContent("Anping County Hospital / （未记录技师）");
    expect(screen.getByText("按技师")).toBeInTheDocument();
  });
});
