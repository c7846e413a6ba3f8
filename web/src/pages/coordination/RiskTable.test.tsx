import { screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";

import { renderUi } from "../../test/render";
import type { RiskRow } from "./dashboardData";
import { RiskTable } from "./RiskTable";

const row = (over: Partial<RiskRow>): RiskRow => ({
  id: "ref-1",
  sla: "at_risk",
  requesting_hospital_id: "h-anping",
  priority: "urgent",
  state: "in_reading",
  reader: "li.expert",
  offered: false,
  sla_due_at: new Date(Date.now() + 10 * 60_000).toISOString(),
  finished: false,
  ...over,
});

describe("RiskTable", () => {
  it("shows one linked row per case with its SLA marker, in the given order", () => {
    renderUi(
      <RiskTable
        rows={[row({ id: "ref-b", sla: "breached", sla_due_at: new Date(Date.now() - 5 * 60_000).toISOString() }), row({ id: "ref-a" })]}
        nameOf={(id) => (id === "h-anping" ? "Anping County Hospital" : id)}
      />,
    );
    const rows = screen.getAllByTestId("risk-row");
    expect(rows.map((r) => r.getAttribute("data-sla"))).toEqual(["breached", "at_risk"]);
    expect(within(rows[0]).getByRole("link", { name: "ref-b" })).toHaveAttribute("href", "/cases/ref-b");
    expect(within(rows[0]).getByText(/overdue by/)).toBeInTheDocument();
    expect(within(rows[1]).getByText(/due in/)).toBeInTheDocument();
    expect(within(rows[1]).getByText("Anping County Hospital")).toBeInTheDocument();
  });

  it("says so when nothing is at risk", () => {
    renderUi(<RiskTable rows={[]} nameOf={(id) => id} />);
    expect(screen.getByRole("status")).toHaveTextContent("No case is at risk or breached.");
    expect(screen.queryByTestId("risk-row")).toBeNull();
  });
});
