import { screen } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { consultPersonActionValues } from "../../api/generated/schema";
import { renderUi } from "../../test/render";
import { ConsultActions } from "./ConsultPage";
import type { ConsultDetail } from "./consultApi";

// Only what the buttons read.
const consult = (allowed_actions: string[]) =>
  ({
    id: "con-1",
    state: "scheduled",
    invitees: [{ id: "he.surgeon", display_name: "He Jun", role: "expert", hospital_id: "h", title: "", specialty: "" }],
    starts_at: null,
    duration_minutes: 30,
    agenda: "",
    allowed_actions,
  }) as unknown as ConsultDetail;

const CONTROLS: Record<string, { role: "button" | "link"; name: string }> = {
  join: { role: "link", name: "Join the room" },
  open: { role: "button", name: "Open the room now" },
  schedule: { role: "button", name: "Schedule" },
  reschedule: { role: "button", name: "Reschedule" },
  hand_over: { role: "button", name: "Hand over hosting" },
  cancel: { role: "button", name: "Cancel consult" },
};

describe("a consult's buttons are the server's allowed_actions", () => {
  beforeEach(() => vi.stubGlobal("fetch", vi.fn(() => new Promise(() => undefined))));
  afterEach(() => vi.unstubAllGlobals());

  it.each(Object.entries(CONTROLS))("shows %s only when it is allowed", (action, control) => {
    const { unmount } = renderUi(<ConsultActions consult={consult([action])} />);
    expect(screen.getByRole(control.role, { name: control.name })).toBeInTheDocument();
    for (const [other, c] of Object.entries(CONTROLS))
      if (other !== action) expect(screen.queryByRole(c.role, { name: c.name })).not.toBeInTheDocument();
    unmount();
    renderUi(<ConsultActions consult={consult([])} />);
    expect(screen.queryByRole(control.role, { name: control.name })).not.toBeInTheDocument();
  });

  it("covers every action the API may offer that has a button here", () => {
    const inRoomOnly = ["post_message", "conclude"]; // the chat box and the conclusion form, not buttons here
    expect([...Object.keys(CONTROLS), ...inRoomOnly].sort()).toEqual([...consultPersonActionValues].sort());
  });
});
