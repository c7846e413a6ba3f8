import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";

import { renderUi } from "../../test/render";
import { AddendumPanel } from "./AddendumPanel";

function answer(status: number, body: unknown) {
  return vi.fn(async (_request: Request) => new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } }));
}

describe("AddendumPanel", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("signs the addendum the reader wrote as POST /addenda", async () => {
    const fetch = answer(200, { id: "ref-1", state: "amended" });
    vi.stubGlobal("fetch", fetch);
    renderUi(<AddendumPanel referralId="ref-1" />);
    await userEvent.click(screen.getByText("Add an addendum"));
    await userEvent.type(screen.getByLabelText("Findings"), "Also a 4 mm nodule in the left lower lobe.");
    await userEvent.type(screen.getByLabelText("Impression"), "Two nodules; follow-up CT in 3 months.");
    await userEvent.click(screen.getByRole("button", { name: "Sign the addendum" }));
    expect(await screen.findByText("Addendum signed.")).toBeInTheDocument();
    const request: Request = fetch.mock.calls[0][0];
    expect(request.method).toBe("POST");
    expect(new URL(request.url).pathname).toBe("/api/referrals/ref-1/addenda");
    expect(await request.json()).toEqual({
      findings: "Also a 4 mm nodule in the left lower lobe.",
      impression: "Two nodules; follow-up CT in 3 months.",
      critical: false,
      critical_note: "",
    });
  });

  it("asks for both findings and impression before sending anything", async () => {
    const fetch = answer(200, {});
    vi.stubGlobal("fetch", fetch);
    renderUi(<AddendumPanel referralId="ref-1" />);
    await userEvent.click(screen.getByText("Add an addendum"));
    await userEvent.type(screen.getByLabelText("Findings"), "Only findings.");
    await userEvent.click(screen.getByRole("button", { name: "Sign the addendum" }));
    expect(screen.getByRole("alert")).toHaveTextContent("Write both the findings and the impression.");
    expect(fetch).not.toHaveBeenCalled();
  });

  it("shows the server's refusal in its own words", async () => {
    vi.stubGlobal("fetch", answer(403, { error: "forbidden", message: "expert e2 may not add_addendum this referral", details: null }));
    renderUi(<AddendumPanel referralId="ref-1" />);
    await userEvent.click(screen.getByText("Add an addendum"));
    await userEvent.type(screen.getByLabelText("Findings"), "x");
    await userEvent.type(screen.getByLabelText("Impression"), "y");
    await userEvent.click(screen.getByRole("button", { name: "Sign the addendum" }));
    expect(await screen.findByText(/may not add_addendum/)).toBeInTheDocument();
  });
});
