import { screen, within } from "@testing-library/react";

import type { AuditEvent } from "../api/types";
import { renderUi } from "../test/render";
import { Timeline } from "./Timeline";

function event(seq: number, action: string, extra: Partial<AuditEvent> = {}): AuditEvent {
  return {
    referral_id: "ref-1",
    seq,
    action,
    from_state: null,
    to_state: "submitted",
    actor_id: "system",
    actor_role: "system",
    actor_hospital_id: null,
    actor_name: null,
    at: `2026-11-23T12:0${seq}:00+00:00`,
    details: {},
    ...extra,
  };
}

const events: AuditEvent[] = [
  event(3, "request_info", {
    from_state: "in_reading",
    to_state: "needs_info",
    actor_id: "wang.expert",
    actor_role: "expert",
    actor_name: "Wang Li",
    details: { request: "Send last year's X-ray" },
  }),
  event(1, "submit", { actor_id: "zhao", actor_role: "county_doctor", actor_name: "Zhao Qiang" }),
  event(2, "offer", { from_state: "submitted", to_state: "offered", details: { candidates: ["wang.expert"] } }),
];

test("lists events in sequence order, each in words with who did it", () => {
  renderUi(<Timeline events={events} />);
  const items = within(screen.getByRole("list", { name: "Timeline" })).getAllByRole("listitem");
  expect(items.map((li) => li.getAttribute("data-action"))).toEqual(["submit", "offer", "request_info"]);
  expect(items[0]).toHaveTextContent("Referral submitted");
  expect(items[0]).toHaveTextContent("Zhao Qiang (County doctor)");
  // The offer names the expert from another event's actor name, and says the state change.
  expect(items[1]).toHaveTextContent("Offered to Wang Li");
  expect(items[1]).toHaveTextContent("System");
  expect(items[1]).toHaveTextContent("Submitted → Offered");
  expect(items[2]).toHaveTextContent("Asked for more information");
  expect(items[2]).toHaveTextContent("Question: Send last year's X-ray");
});

test("says so when there is nothing yet", () => {
  renderUi(<Timeline events={[]} />);
  expect(screen.getByText("No events yet.")).toBeInTheDocument();
});
