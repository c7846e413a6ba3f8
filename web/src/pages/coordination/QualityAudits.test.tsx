import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";

import { renderUi } from "../../test/render";
import { QualityAudits, thisMonth } from "./QualityAudits";

const item = {
  referral_id: "ref-1",
  modality: "DX",
  scale: "xray",
  grade: "C",
  reasons: ["motion"],
  technician: "李技师",
  verdict: null,
  auditor_grade: null,
  auditor_reasons: [],
  comment: "",
  audited_by: null,
  audited_at: null,
};
const audit = {
  id: "qa-1",
  hospital_id: "h-anping",
  month: "2026-12",
  mode: "worst",
  requested: 1,
  state: "open",
  requested_by: "liu.coord",
  requested_at: "2026-12-07T04:00:00Z",
  completed_at: null,
  total: 1,
  recorded: 0,
};
const regraded = {
  ...audit,
  state: "completed",
  recorded: 1,
  items: [{ ...item, verdict: "regraded", auditor_grade: "B", auditor_reasons: ["motion"], comment: "mild",
            audited_by: "liu.coord", audited_at: "2026-12-07T05:00:00Z" }],  // prettier-ignore
};

function json(body: unknown, status = 200) {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

describe("QualityAudits", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("counts months in Shanghai time", () => {
    expect(thisMonth(new Date("2026-11-30T17:00:00Z"))).toBe("2026-12");
    expect(thisMonth(new Date("2026-11-30T15:00:00Z"))).toBe("2026-11");
  });

  it("opens an audit and records a regrade with its reasons and why", async () => {
    const posted: unknown[] = [];
    const fetch = vi.fn(async (request: Request) => {
      const path = new URL(request.url).pathname;
      if (request.method === "POST") {
        posted.push(await request.json());
        return json(regraded);
      }
      if (path === "/api/quality/audits") return json({ items: [audit], limit: 50, offset: 0, next_offset: null });
      if (path === "/api/quality/audits/qa-1") return json({ ...audit, items: [item] });
      if (path === "/api/hospitals") return json({ items: [], limit: null, offset: 0, next_offset: null });
      return json({ error: "not_found", message: path, details: null }, 404);
    });
    vi.stubGlobal("fetch", fetch);
    renderUi(<QualityAudits nameOf={(id) => (id === "h-anping" ? "Anping" : id)} />);
    const opener = await screen.findByRole(
      "button",
      { name: "Anping · 2026-12 · the worst first · 0/1 recorded" },
      { timeout: 5000 }, // the first render of the app's providers is slow on a loaded machine
    );
    await userEvent.click(opener);
    const row = await screen.findByTestId("audit-item-ref-1");
    expect(row).toHaveTextContent("C (丙)");
    expect(row).toHaveTextContent("李技师");
    await userEvent.click(within(row).getByRole("button", { name: "Regrade…" }));
    await userEvent.selectOptions(within(row).getByLabelText("Auditor's grade"), "B");
    await userEvent.click(within(row).getByRole("checkbox", { name: "motion" }));
    await userEvent.type(within(row).getByLabelText("Why"), "mild");
    await userEvent.click(within(row).getByRole("button", { name: "Record the regrade" }));
    expect(await screen.findByText("Regraded")).toBeInTheDocument();
    expect(posted).toEqual([{ referral_id: "ref-1", verdict: "regraded", grade: "B", reasons: ["motion"], comment: "mild" }]);
  });
});
