import { fireEvent, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";

import { renderUi } from "../../test/render";
import { PatientSlip } from "./PatientSlip";

// No link yet; the server says a new one lasts 9 days (YILIAN_SHARE_LINK_DAYS).
const NO_LINKS = { items: [], limit: null, offset: 0, next_offset: null, default_days: 9 };

describe("PatientSlip", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("starts from the server's link lifetime and leaves it to the server unless the county changes it", async () => {
    const fetch = vi.fn(async (request: Request) =>
      request.method === "GET"
        ? new Response(JSON.stringify(NO_LINKS), { status: 200, headers: { "Content-Type": "application/json" } })
        : new Response("{}", { status: 201, headers: { "Content-Type": "application/json" } }),
    );
    vi.stubGlobal("fetch", fetch);
    renderUi(<PatientSlip referralId="ref-1" patientName="P" hospital="H" reportDate={null} />);
    expect(await screen.findByLabelText("Valid for (days)")).toHaveValue(9);
    await userEvent.click(screen.getByRole("button", { name: "Create patient link" }));
    const post = fetch.mock.calls.map((c) => c[0]).find((r) => r.method === "POST");
    expect(post && (await post.json())).toEqual({});

    fireEvent.change(screen.getByLabelText("Valid for (days)"), { target: { value: "3" } });
    await userEvent.click(screen.getByRole("button", { name: "Create patient link" }));
    const posts = fetch.mock.calls.map((c) => c[0]).filter((r) => r.method === "POST");
    expect(await posts[posts.length - 1].json()).toEqual({ days: 3 });
  });
});
