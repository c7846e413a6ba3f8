import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";

import { ApiError } from "../../api/client";
import { renderUi } from "../../test/render";
import type { AdminHospital } from "./adminApi";
import { AgreementForm } from "./AgreementForm";

const hospitals: AdminHospital[] = [
  { id: "h-anping", name: "Anping County Hospital", level: "county", patient_id_issuer: "ANPING", created_at: "" },
  { id: "h-provincial", name: "Provincial People's Hospital", level: "tertiary", patient_id_issuer: "PPH", created_at: "" },
];

describe("AgreementForm", () => {
  it("shows the half-hosting rules only for half hosting, and asks for one", async () => {
    const onSave = vi.fn();
    renderUi(<AgreementForm hospitals={hospitals} onSave={onSave} />);
    expect(screen.queryByLabelText("Modalities sent out")).toBeNull();
    await userEvent.selectOptions(screen.getByLabelText("Requesting hospital"), "h-anping");
    await userEvent.selectOptions(screen.getByLabelText("Reading hospital"), "h-provincial");
    await userEvent.selectOptions(screen.getByLabelText("Service mode"), "half_hosting");
    expect(screen.getByLabelText("Modalities sent out")).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Save" }));
    expect(onSave).not.toHaveBeenCalled();
    expect(screen.getByText(/needs a rule/)).toBeInTheDocument();
    await userEvent.type(screen.getByLabelText("Modalities sent out"), "ct");
    await userEvent.clear(screen.getByLabelText("STAT target (minutes)"));
    await userEvent.type(screen.getByLabelText("STAT target (minutes)"), "45");
    await userEvent.click(screen.getByRole("button", { name: "Save" }));
    expect(onSave).toHaveBeenCalledWith(
      expect.objectContaining({
        requesting_hospital_id: "h-anping",
        reading_hospital_id: "h-provincial",
        service_mode: "half_hosting",
        sla: { stat_minutes: 45, urgent_minutes: 120, routine_minutes: 1440 },
        half_hosting: { modalities: ["CT"], hours_start: null, hours_end: null, overflow_daily_cap: 0 },
      }),
    );
  });

  it("places the server's problems on the named fields", async () => {
    const onSave = vi.fn().mockRejectedValue(
      new ApiError(422, "validation_failed", "the requesting hospital must be a county or township hospital", [
        { field: "body.sla.stat_minutes", problem: "Input should be less than or equal to 43200" },
        { field: "body.timezone", problem: "Value error, unknown time zone 'Mars/Base'" },
      ]),
    );
    renderUi(<AgreementForm hospitals={hospitals} onSave={onSave} />);
    await userEvent.selectOptions(screen.getByLabelText("Requesting hospital"), "h-anping");
    await userEvent.selectOptions(screen.getByLabelText("Reading hospital"), "h-provincial");
    await userEvent.click(screen.getByRole("button", { name: "Save" }));
    expect(await screen.findByText("Value error, unknown time zone 'Mars/Base'")).toBeInTheDocument();
    expect(screen.getByLabelText("Time zone")).toHaveAttribute("aria-invalid", "true");
    expect(screen.getByLabelText("STAT target (minutes)")).toHaveAttribute("aria-invalid", "true");
  });
});
