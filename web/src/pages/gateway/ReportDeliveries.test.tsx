import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";

import type { ReportDelivery } from "../../api/generated/schema";
import strings from "../../i18n/admin";
import { renderUi } from "../../test/render";
import { canRetry, DeliveriesTable, statusHex } from "./ReportDeliveries";

const failed: ReportDelivery = {
  id: 7,
  referral_id: "ref-20261207-0000000001",
  report_version: 3,
  report_kind: "final",
  kind: "pdf",
  hospital_id: "h-anping",
  hospital_name: "安平县医院 Anping County Hospital",
  study_instance_uid: "1.2.3",
  sop_instance_uid: "1.2.3.4",
  patient_name: "张三 Zhang San",
  state: "failed",
  attempts: 1,
  dicom_status: 0xc000,
  detail: "the PACS COUNTY_PACS at 10.0.0.5:104: the PACS cannot understand the instance (C000)",
  created_at: "2026-12-07T08:00:00+00:00",
  updated_at: "2026-12-07T08:01:00+00:00",
};
const addendum: ReportDelivery = { ...failed, id: 8, report_version: 4, report_kind: "addendum", kind: "sr",
  state: "delivered", dicom_status: 0, detail: "", attempts: 1 };  // prettier-ignore

function json(body: unknown, status = 200) {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

const page = (...items: ReportDelivery[]) => ({ items, limit: 50, offset: 0, next_offset: null });

describe("canRetry", () => {
  it("offers a failed delivery to an admin and to the sending hospital's own coordinator only", () => {
    expect(canRetry({ role: "admin", hospital_id: null }, failed)).toBe(true);
    expect(canRetry({ role: "coordinator", hospital_id: "h-anping" }, failed)).toBe(true);
    expect(canRetry({ role: "coordinator", hospital_id: "h-provincial" }, failed)).toBe(false);
    expect(canRetry({ role: "county_doctor", hospital_id: "h-anping" }, failed)).toBe(false);
    expect(canRetry({ role: "admin", hospital_id: null }, { ...failed, state: "queued" })).toBe(false);
  });

  it("writes DICOM statuses as four hex digits", () => {
    expect(statusHex(0xc000)).toBe("C000");
    expect(statusHex(0x122)).toBe("0122");
    expect(statusHex(null)).toBe("");
  });

  it("has every state in both languages", () => {
    for (const s of ["pending", "queued", "delivered", "failed"]) {
      expect(strings.en.deliveries.state).toHaveProperty(s);
      expect(strings.zh.deliveries.state).toHaveProperty(s);
    }
  });
});

describe("DeliveriesTable", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("shows the PACS's refusal and sends it again with a reason once confirmed", async () => {
    const posted: unknown[] = [];
    let current = failed;
    const fetch = vi.fn(async (request: Request) => {
      const url = new URL(request.url);
      if (request.method === "POST" && url.pathname === "/api/report-deliveries/7/retry") {
        posted.push(await request.json());
        current = { ...failed, state: "queued" };
        return json(current);
      }
      if (url.pathname === "/api/report-deliveries") return json(page(addendum, current));
      return json({ error: "not_found", message: url.pathname, details: null }, 404);
    });
    vi.stubGlobal("fetch", fetch);
    renderUi(<DeliveriesTable me={{ role: "coordinator", hospital_id: "h-anping" }} hospitalId="" state="" />);
    const row = await screen.findByTestId("delivery-7", {}, { timeout: 5000 });
    expect(row).toHaveTextContent("Refused by the PACS");
    expect(row).toHaveTextContent("C000");
    expect(row).toHaveTextContent("cannot understand the instance");
    expect(row).toHaveTextContent("张三 Zhang San");
    expect(within(row).getByRole("link", { name: failed.referral_id })).toHaveAttribute("href", `/cases/${failed.referral_id}`);
    const other = screen.getByTestId("delivery-8");
    expect(other).toHaveTextContent("Addendum (version 4)");
    expect(within(other).queryByRole("button", { name: "Send again" })).toBeNull();

    await userEvent.click(within(row).getByRole("button", { name: "Send again" }));
    const confirm = within(row).getByRole("button", { name: "Yes, send again" });
    expect(confirm).toBeDisabled(); // a reason first
    await userEvent.type(within(row).getByLabelText("Why"), "PACS fixed");
    await userEvent.click(confirm);
    expect(await within(row).findByText("Queued at the gateway")).toBeInTheDocument();
    expect(posted).toEqual([{ reason: "PACS fixed" }]);
    expect(within(row).queryByRole("button", { name: "Send again" })).toBeNull();
  });

  it("shows no retry button to a county doctor", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => json(page(failed))));
    renderUi(<DeliveriesTable me={{ role: "county_doctor", hospital_id: "h-anping" }} hospitalId="" state="" />);
    const row = await screen.findByTestId("delivery-7", {}, { timeout: 5000 });
    expect(row).toHaveTextContent("Refused by the PACS");
    expect(within(row).queryByRole("button", { name: "Send again" })).toBeNull();
  });
});
