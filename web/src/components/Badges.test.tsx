import { screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";

import { renderUi } from "../test/render";
import { SlaBadge } from "./Badges";

const overdue = new Date(Date.now() - 3 * 86_400_000).toISOString();

describe("SlaBadge", () => {
  it("counts how overdue an open case is", () => {
    renderUi(<SlaBadge referral={{ sla_status: "breached", sla_due_at: overdue, state: "in_reading" }} />);
    expect(screen.getByText(/overdue by 3 d/)).toBeInTheDocument();
  });

  it("shows a finished case's breach without a clock still running on it", () => {
    renderUi(<SlaBadge referral={{ sla_status: "breached", sla_due_at: overdue, state: "closed" }} />);
    expect(screen.getByText("Breached")).toBeInTheDocument();
    expect(screen.queryByText(/overdue/)).toBeNull();
  });
});
