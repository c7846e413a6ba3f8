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

describe("QualityScorecards", () => {
  beforeEach(() => {
    vi.stubGlobal("fetch", vi.fn(async () => new Response(JSON.stringify(answer), { headers: { "content-type": "application/json" } })));
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
    expect(screen.getByText("Good images by month (target 90%)")).toBeInTheDocument();
  });
});
