import { screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";

import { renderUi } from "../../test/render";
import SearchPage from "./SearchPage";

const hit = {
  referral_id: "ref-1",
  signed_at: "2026-12-07T04:00:00Z",
  modality: "CT",
  body_part: "CHEST",
  hospital_id: "h-anping",
  hospital_name: "安平县医院",
  reader_id: "wang.expert",
  reader_name: "王医生",
  discrepancy: null,
  critical: false,
  has_addendum: false,
  study_instance_uid: "1.2.3",
  impression: "右肺上叶磨玻璃结节。",
  score: 1.5,
  highlights: [],
};

function results(facets: Record<string, unknown>, facets_available: boolean) {
  return { items: [hit], limit: 20, offset: 0, next_offset: null, total: 1, facets, facets_available,
           slots: [["磨玻璃结节"]], took_ms: 12 };  // prettier-ignore
}

function serve(body: unknown) {
  const json = (b: unknown) => new Response(JSON.stringify(b), { status: 200, headers: { "Content-Type": "application/json" } });
  vi.stubGlobal("fetch", vi.fn(async (request: Request) =>
    new URL(request.url).pathname === "/api/search" ? json(body) : json({ items: [], limit: 8, offset: 0, next_offset: null })));
}

describe("SearchPage", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("shows the hits with a quiet note when the facet counts are unavailable", async () => {
    serve(results({}, false));
    renderUi(<SearchPage />, { route: "/search?q=磨玻璃结节" });
    expect(await screen.findByText("右肺上叶磨玻璃结节。", {}, { timeout: 5000 })).toBeInTheDocument();
    expect(screen.getByRole("note")).toHaveTextContent("Counts by filter are not available right now");
    expect(screen.queryByRole("group")).toBeNull();
  });

  it("shows the facets and no note when they came", async () => {
    serve(results({ modality: [{ value: "CT", count: 1, label: null }] }, true));
    renderUi(<SearchPage />, { route: "/search?q=磨玻璃结节" });
    expect(await screen.findByRole("group", { name: "Modality" }, { timeout: 5000 })).toHaveTextContent("CT");
    expect(screen.queryByRole("note")).toBeNull();
  });
});
