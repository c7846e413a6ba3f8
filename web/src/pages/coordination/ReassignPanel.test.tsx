import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import type { ReferralDetail, ReferralState } from "../../api/types";
import { renderUi } from "../../test/render";
import { auditToCsv } from "./AuditTrailTable";
import { ReassignForm, ReassignPanel, type Reader } from "./ReassignPanel";

const referral = (state: ReferralState, allowed_actions: string[]) =>
  ({ id: "ref-1", state, reader_id: null, offered_to: null, allowed_actions }) as unknown as ReferralDetail;

const readers: Reader[] = [
  { id: "li.expert", display_name: "Li Jing", role: "expert", title: "Chief", is_junior: false, on_duty: true, subspecialties: [{ modality: "CT", body_part: "HEAD" }], open_cases: 0 },
  { id: "zhang.expert", display_name: "Zhang Wei", role: "expert", title: "", is_junior: true, on_duty: false, subspecialties: [], open_cases: 3 },
];

describe("ReassignPanel visibility", () => {
  beforeEach(() => {
    // The panel asks for the readers; the answer never comes, the visibility is what is tested here.
    vi.stubGlobal("fetch", vi.fn(() => new Promise(() => undefined)));
  });
  afterEach(() => vi.unstubAllGlobals());

  it("is shown where the server offers reassign", () => {
    renderUi(<ReassignPanel referral={referral("in_reading", ["reassign"])} />);
    expect(screen.getByRole("heading", { name: "Reassign case" })).toBeInTheDocument();
    expect(screen.getByLabelText("Reassign to")).toBeInTheDocument();
  });

  it.each([
    ["in_reading", []],
    ["preliminary", ["approve", "request_changes"]],
  ] as const)("is hidden for a case %s when the server does not offer it", (state, allowed) => {
    const { container } = renderUi(<ReassignPanel referral={referral(state, [...allowed])} />);
    expect(container).toBeEmptyDOMElement();
  });
});

describe("ReassignForm", () => {
  const setup = (onSubmit = vi.fn()) => {
    renderUi(<ReassignForm readers={readers} currentReader="li.expert" pending={false} error={null} done={false} onSubmit={onSubmit} />);
    return onSubmit;
  };

  it("requires a reason", async () => {
    const onSubmit = setup();
    await userEvent.click(screen.getByRole("button", { name: "Reassign" }));
    expect(onSubmit).not.toHaveBeenCalled();
    expect(screen.getByRole("alert")).toHaveTextContent("Give a reason");
  });

  it("leaves expert_id out for automatic routing", async () => {
    const onSubmit = setup();
    await userEvent.type(screen.getByLabelText("Reason"), "reader is off sick");
    await userEvent.click(screen.getByRole("button", { name: "Reassign" }));
    expect(onSubmit).toHaveBeenCalledWith({ reason: "reader is off sick" });
  });

  it("names the chosen reader, and describes each one", async () => {
    const onSubmit = setup();
    const select = screen.getByLabelText("Reassign to");
    expect(screen.getByRole("option", { name: /Li Jing \(current\)/ })).toBeInTheDocument();
    expect(screen.getByRole("option", { name: /Zhang Wei — .*junior.*Off duty.*3 open cases/ })).toBeInTheDocument();
    await userEvent.selectOptions(select, "zhang.expert");
    await userEvent.type(screen.getByLabelText("Reason"), "load");
    await userEvent.click(screen.getByRole("button", { name: "Reassign" }));
    expect(onSubmit).toHaveBeenCalledWith({ expert_id: "zhang.expert", reason: "load" });
  });
});

describe("auditToCsv", () => {
  it("quotes commas, quotes and new lines, and writes details as JSON", () => {
    const csv = auditToCsv([
      {
        referral_id: "ref-1",
        seq: 1,
        action: "reassign",
        from_state: "in_reading",
        to_state: "offered",
        actor_id: "liu.coord",
        actor_role: "coordinator",
        actor_hospital_id: "h-provincial",
        actor_name: 'Liu "Fang"',
        at: "2026-11-23T10:00:00Z",
        details: { reason: "sick, at home" },
      },
    ]);
    const [header, line] = csv.split("\r\n");
    expect(header).toBe("seq,at,action,from_state,to_state,actor_id,actor_name,actor_role,details");
    expect(line).toBe('1,2026-11-23T10:00:00Z,reassign,in_reading,offered,liu.coord,"Liu ""Fang""",coordinator,"{""reason"":""sick, at home""}"');
  });
});
