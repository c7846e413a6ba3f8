import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";

import type { ReferralAction } from "../../api/allowedActions";
import type { Referral } from "../../api/types";
import { renderUi } from "../../test/render";
import { caseLink, WorklistTable } from "./WorklistTable";

function referral(over: Partial<Referral>): Referral {
  return {
    id: "ref-x",
    requesting_hospital_id: "h-anping",
    reading_hospital_id: "h-provincial",
    agreement_id: "agr",
    in_house: false,
    patient_ref: "p",
    study_instance_uid: "1.2.3",
    modality: "CT",
    body_part: "CHEST",
    clinical_question: "cough",
    priority: "urgent",
    difficult: false,
    submitted_by: "zhao.anping",
    submitted_at: "2026-01-01T10:00:00Z",
    state: "offered",
    offered_to: null,
    reader_id: null,
    second_reader_id: null,
    sla_target_minutes: 120,
    sla_due_at: new Date(Date.now() + 3_600_000).toISOString(),
    sla_warn_at: null,
    sla_paused: false,
    warned: false,
    breached: false,
    escalated: false,
    critical: false,
    critical_open: false,
    report_version: 0,
    preliminary_at: null,
    final_at: null,
    closed_at: null,
    signer_id: null,
    discrepancy: null,
    seq: 2,
    updated_at: "2026-01-01T10:00:00Z",
    sla_status: "on_track",
    allowed_actions: [],
    ...over,
  };
}

const me = { id: "wang.expert", role: "expert" as const };
const rows = [
  referral({ id: "ref-mine", offered_to: "wang.expert", allowed_actions: ["accept", "decline"] }),
  referral({ id: "ref-other", offered_to: "li.expert" }),
  referral({
    id: "ref-reading",
    state: "in_reading",
    reader_id: "wang.expert",
    allowed_actions: ["save_draft", "submit_preliminary", "request_info"],
  }),
];

function renderTable(onAccept = vi.fn(), onDecline = vi.fn()) {
  renderUi(
    <WorklistTable
      rows={rows}
      me={me}
      hospitalName={(id) => (id === "h-anping" ? "Anping County Hospital" : id)}
      sort="sla"
      dir="asc"
      onSort={vi.fn()}
      busyId={null}
      onAccept={onAccept}
      onDecline={onDecline}
    />,
  );
}

describe("WorklistTable", () => {
  it("offers Accept and Decline only on rows where the server allows them", async () => {
    const onAccept = vi.fn();
    const onDecline = vi.fn();
    renderTable(onAccept, onDecline);
    const mine = within(screen.getByTestId("worklist-row-ref-mine"));
    expect(mine.getByText("Offered to: me")).toBeInTheDocument();
    for (const id of ["ref-other", "ref-reading"]) {
      const row = within(screen.getByTestId(`worklist-row-${id}`));
      expect(row.queryByRole("button", { name: "Accept" })).toBeNull();
      expect(row.queryByRole("button", { name: "Decline" })).toBeNull();
    }
    expect(screen.getAllByRole("button", { name: "Accept" })).toHaveLength(1);

    const user = userEvent.setup();
    await user.click(mine.getByRole("button", { name: "Accept" }));
    expect(onAccept).toHaveBeenCalledWith("ref-mine");
    await user.click(mine.getByRole("button", { name: "Decline" }));
    expect(onDecline).toHaveBeenCalledWith("ref-mine");
  });

  it("links my case to the reading page and others to the case page", () => {
    renderTable();
    expect(within(screen.getByTestId("worklist-row-ref-reading")).getByRole("link")).toHaveAttribute("href", "/read/ref-reading");
    expect(within(screen.getByTestId("worklist-row-ref-other")).getByRole("link")).toHaveAttribute("href", "/cases/ref-other");
    expect(screen.getAllByText("Anping County Hospital")).toHaveLength(3);
  });

  it("sends the second reader the server names to the review panel", () => {
    const prelim = referral({ id: "ref-p", state: "preliminary", reader_id: "wang.expert" });
    const reviewable = { ...prelim, allowed_actions: ["approve", "request_changes"] satisfies ReferralAction[] };
    expect(caseLink(reviewable, { id: "chen.senior", role: "senior" })).toBe("/read/ref-p");
    expect(caseLink(prelim, { id: "li.expert", role: "expert" })).toBe("/cases/ref-p");
    expect(caseLink(prelim, { id: "liu.coord", role: "coordinator" })).toBe("/cases/ref-p");
    expect(caseLink(prelim, { id: "wang.expert", role: "expert" })).toBe("/read/ref-p"); // the reader's own case
  });

  it("shows Decline alone when only that is allowed", () => {
    renderUi(
      <WorklistTable
        rows={[referral({ id: "ref-d", offered_to: "wang.expert", allowed_actions: ["decline"] })]}
        me={me}
        hospitalName={(id) => id}
        sort="sla"
        dir="asc"
        onSort={vi.fn()}
        busyId={null}
        onAccept={vi.fn()}
        onDecline={vi.fn()}
      />,
    );
    const row = within(screen.getByTestId("worklist-row-ref-d"));
    expect(row.queryByRole("button", { name: "Accept" })).toBeNull();
    expect(row.getByRole("button", { name: "Decline" })).toBeInTheDocument();
  });

  it("marks an in-house case (本院写片) and no other", () => {
    const inHouse = referral({ id: "ref-ih", requesting_hospital_id: "h-provincial", agreement_id: null, in_house: true });
    renderUi(
      <WorklistTable
        rows={[inHouse, referral({ id: "ref-out" })]}
        me={me}
        hospitalName={(id) => id}
        sort="sla"
        dir="asc"
        onSort={vi.fn()}
        busyId={null}
        onAccept={vi.fn()}
        onDecline={vi.fn()}
      />,
    );
    expect(within(screen.getByTestId("worklist-row-ref-ih")).getByText("In-house")).toHaveAttribute("title", expect.stringContaining("本院写片"));
    expect(within(screen.getByTestId("worklist-row-ref-out")).queryByText("In-house")).toBeNull();
  });
});
