import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";

import type { ReportVersion } from "../../api/types";
import { renderUi } from "../../test/render";
import { ReviewPanel } from "./ReviewPanel";

const report: ReportVersion = {
  referral_id: "ref-1",
  version: 2,
  kind: "preliminary",
  author_id: "wang.expert",
  author_role: "expert",
  author_name: "Wang Li",
  findings: "8 mm nodule RUL",
  impression: "Solitary nodule, follow up",
  structured: { nodules: "solitary", lung_rads: "3" },
  critical: false,
  critical_note: "",
  created_at: "2026-01-01T10:00:00Z",
};

describe("ReviewPanel", () => {
  it("shows the preliminary report with its structured values", () => {
    renderUi(<ReviewPanel report={report} onDecide={vi.fn()} approve requestChanges />);
    expect(screen.getByText("Solitary nodule, follow up")).toBeInTheDocument();
    expect(screen.getByText("Solitary")).toBeInTheDocument();
    expect(screen.getByText("Lung-RADS category")).toBeInTheDocument();
  });

  it("requires comments to request changes", async () => {
    const user = userEvent.setup();
    const onDecide = vi.fn().mockResolvedValue({});
    renderUi(<ReviewPanel report={report} onDecide={onDecide} approve requestChanges />);
    await user.click(screen.getByRole("radio", { name: "Minor discrepancy" }));
    await user.click(screen.getByRole("button", { name: "Request changes" }));
    expect(onDecide).not.toHaveBeenCalled();
    expect(screen.getByRole("alert")).toHaveTextContent("Say what should change.");
    expect(screen.getByLabelText("Review comments")).toHaveAttribute("aria-invalid", "true");

    await user.type(screen.getByLabelText("Review comments"), "Mention the Lung-RADS category in the impression");
    await user.click(screen.getByRole("button", { name: "Request changes" }));
    expect(onDecide).toHaveBeenCalledWith("request-changes", {
      discrepancy: "minor",
      comments: "Mention the Lung-RADS category in the impression",
    });
  });

  it("requires a discrepancy grade, then signs after confirmation without comments", async () => {
    const user = userEvent.setup();
    const onDecide = vi.fn().mockResolvedValue({});
    renderUi(<ReviewPanel report={report} onDecide={onDecide} approve requestChanges />);
    await user.click(screen.getByRole("button", { name: "Approve and sign" }));
    expect(screen.getByRole("alert")).toHaveTextContent("Choose a discrepancy grade.");
    await user.click(screen.getByRole("radio", { name: "Agree" }));
    await user.click(screen.getByRole("button", { name: "Approve and sign" }));
    expect(onDecide).not.toHaveBeenCalled();
    await user.click(screen.getByRole("button", { name: "Confirm and sign" }));
    expect(onDecide).toHaveBeenCalledWith("approve", { discrepancy: "agree", comments: "" });
  });

  it("shows the server's refusal", async () => {
    const user = userEvent.setup();
    const onDecide = vi.fn().mockRejectedValue(new Error("cannot approve a referral that is final"));
    renderUi(<ReviewPanel report={report} onDecide={onDecide} approve requestChanges />);
    await user.click(screen.getByRole("radio", { name: "Agree" }));
    await user.click(screen.getByRole("button", { name: "Approve and sign" }));
    await user.click(screen.getByRole("button", { name: "Confirm and sign" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("cannot approve a referral that is final");
  });

  it("shows only the decisions the server offers", () => {
    renderUi(<ReviewPanel report={report} onDecide={vi.fn()} approve={false} requestChanges />);
    expect(screen.queryByRole("button", { name: "Approve and sign" })).not.toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Request changes" })).toBeInTheDocument();
  });
});
