import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";

import type { AuditEvent } from "../../api/types";
import { renderUi } from "../../test/render";
import { openRetake } from "../case/CountyActions";
import { QualityPanel, RetakePanel, gradesFor, latestGrade } from "./QualityPanel";

function answer(status: number, body: unknown) {
  return vi.fn(async (_request: Request) => new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } }));
}

function event(seq: number, action: string, details: Record<string, unknown>): AuditEvent {
  return {
    referral_id: "ref-1", seq, action, from_state: "in_reading", to_state: "in_reading", actor_id: "e1",
    actor_role: "expert", actor_hospital_id: "h-prov", actor_name: null, at: "", details,
  };
}

describe("QualityPanel", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("offers the modality's scale: 甲乙丙丁 for X-ray, 3-0 for CT and MR, nothing for the others", () => {
    expect(gradesFor("DX")).toEqual(["A", "B", "C", "D"]);
    expect(gradesFor("MR")).toEqual(["3", "2", "1", "0"]);
    expect(gradesFor("US")).toEqual([]);
  });

  it("asks for a defect below the best grade, then sends the grade as POST /quality", async () => {
    const fetch = answer(200, { id: "ref-1", state: "in_reading" });
    vi.stubGlobal("fetch", fetch);
    renderUi(<QualityPanel referralId="ref-1" modality="DX" current={null} />);
    await userEvent.click(screen.getByRole("radio", { name: "B (乙)" }));
    await userEvent.click(screen.getByRole("button", { name: "Save the grade" }));
    expect(screen.getByRole("alert")).toHaveTextContent("Below the best grade, name at least one defect.");
    expect(fetch).not.toHaveBeenCalled();
    await userEvent.click(screen.getByRole("checkbox", { name: "positioning" }));
    await userEvent.click(screen.getByRole("button", { name: "Save the grade" }));
    expect(await screen.findByText("Grade saved.")).toBeInTheDocument();
    const request: Request = fetch.mock.calls[0][0];
    expect(new URL(request.url).pathname).toBe("/api/referrals/ref-1/quality");
    expect(await request.json()).toEqual({ grade: "B", reasons: ["positioning"] });
  });

  it("shows the reader's latest grade in their language", () => {
    const current = latestGrade([
      event(3, "grade_quality", { grade: "A", reasons: [] }),
      event(4, "grade_quality", { grade: "C", reasons: ["motion", "exposure"] }),
    ]);
    expect(current).toEqual({ grade: "C", reasons: ["motion", "exposure"] });
    renderUi(<QualityPanel referralId="ref-1" modality="DX" current={current} />, { lang: "zh" });
    expect(screen.getByTestId("quality-current")).toHaveTextContent("您的评级：丙级片（运动伪影、曝光）");
  });
});

describe("RetakePanel", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("sends the defect reasons and what to change as POST /retake", async () => {
    const fetch = answer(200, { id: "ref-1", state: "needs_info" });
    vi.stubGlobal("fetch", fetch);
    renderUi(<RetakePanel referralId="ref-1" />);
    await userEvent.click(screen.getByText("Send back for a retake"));
    await userEvent.click(screen.getByRole("button", { name: "Request a retake" }));
    expect(screen.getByRole("alert")).toHaveTextContent("Name at least one defect.");
    await userEvent.click(screen.getByRole("checkbox", { name: "motion" }));
    await userEvent.type(screen.getByLabelText("What the retake should do differently"), "Breath-hold, arms up");
    await userEvent.click(screen.getByRole("button", { name: "Request a retake" }));
    await vi.waitFor(() => expect(fetch).toHaveBeenCalledOnce());
    const request: Request = fetch.mock.calls[0][0];
    expect(new URL(request.url).pathname).toBe("/api/referrals/ref-1/retake");
    expect(await request.json()).toEqual({ reasons: ["motion"], comment: "Breath-hold, arms up" });
  });

  it("gives the county the retake's reasons (a plain question has none)", () => {
    expect(openRetake([event(5, "request_retake", { reasons: ["motion"], request: "again" })])).toEqual(["motion"]);
    expect(openRetake([event(5, "request_retake", { reasons: ["motion"] }), event(7, "request_info", {})])).toBeNull();
  });
});
