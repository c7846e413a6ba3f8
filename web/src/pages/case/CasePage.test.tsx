import { screen } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { REFERRAL_ACTIONS, allows, allowsAny, type ReferralAction } from "../../api/allowedActions";
import type { AuditEvent, Me, ReferralDetail } from "../../api/types";
import { renderUi } from "../../test/render";
import { RolePanels } from "./CasePage";
import { openQuestion } from "./CountyActions";

const me = (role: Me["role"], id = "u1", hospital_id: string | null = "h-county"): Me => ({
  id,
  name: id,
  role,
  hospital_id,
  title: "",
  on_duty: true,
  licensed_for: [],
  reads_in_house: [],
});

// Only what the panels read; the rest of the row does not decide anything on this page.
const referral = (allowed_actions: string[], over: Partial<ReferralDetail> = {}) =>
  ({
    id: "ref-1",
    state: "in_reading",
    requesting_hospital_id: "h-county",
    reading_hospital_id: "h-prov",
    offered_to: null,
    reader_id: null,
    allowed_actions,
    reports: [],
    ...over,
  }) as unknown as ReferralDetail;

const PANELS = {
  provide_info: "The reader needs more information",
  acknowledge_receipt: "Acknowledge receipt",
  acknowledge_critical: "Acknowledge critical finding",
  cancel: "Cancel referral",
  reassign: "Reassign case",
  add_addendum: "Add an addendum",
} as const;

describe("the case page's panels are the server's allowed_actions", () => {
  beforeEach(() => vi.stubGlobal("fetch", vi.fn(() => new Promise(() => undefined)))); // the readers never load
  afterEach(() => vi.unstubAllGlobals());

  it.each(Object.entries(PANELS))("shows %s only when it is allowed", (action, text) => {
    const { unmount } = renderUi(<RolePanels me={me("county_doctor")} referral={referral([action])} events={[]} />);
    expect(screen.getByText(text)).toBeInTheDocument();
    for (const [other, otherText] of Object.entries(PANELS))
      if (other !== action) expect(screen.queryByText(otherText)).not.toBeInTheDocument();
    unmount();
    renderUi(<RolePanels me={me("county_doctor")} referral={referral([])} events={[]} />);
    expect(screen.queryByText(text)).not.toBeInTheDocument();
  });

  it("opens the workspace for whoever may take, write or review the case, and for its reader", () => {
    const expert = me("expert", "e1", "h-prov");
    for (const allowed of [["accept", "decline"], ["save_draft", "submit_preliminary"], ["approve", "request_changes"]]) {
      const { unmount } = renderUi(<RolePanels me={expert} referral={referral(allowed)} events={[]} />);
      expect(screen.getByRole("link", { name: "Open reading workspace" })).toHaveAttribute("href", "/read/ref-1");
      unmount();
    }
    const { unmount } = renderUi(<RolePanels me={expert} referral={referral([], { reader_id: "e1" })} events={[]} />);
    expect(screen.getByRole("link", { name: "Open reading workspace" })).toBeInTheDocument();
    unmount();
    renderUi(<RolePanels me={expert} referral={referral([], { reader_id: "e2" })} events={[]} />);
    expect(screen.queryByRole("link", { name: "Open reading workspace" })).not.toBeInTheDocument();
  });
});

test("allows reads the list and nothing else", () => {
  const r = { allowed_actions: ["accept", "decline"] satisfies ReferralAction[] };
  expect(REFERRAL_ACTIONS.filter((a) => allows(r, a))).toEqual(["accept", "decline"]);
  expect(allowsAny(r, "approve", "decline")).toBe(true);
  expect(allowsAny(r, "approve", "request_changes")).toBe(false);
});

test("the open question is the latest request_info", () => {
  const ev = (seq: number, action: string, request: string): AuditEvent => ({
    referral_id: "r",
    seq,
    action,
    from_state: null,
    to_state: "needs_info",
    actor_id: "e1",
    actor_role: "expert",
    actor_hospital_id: "h-prov",
    actor_name: null,
    at: "",
    details: { request },
  });
  expect(openQuestion([ev(2, "request_info", "first"), ev(5, "request_info", "second"), ev(6, "provide_info", "x")])).toBe(
    "second",
  );
  expect(openQuestion([])).toBeNull();
});
