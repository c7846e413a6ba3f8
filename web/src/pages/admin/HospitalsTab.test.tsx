import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";

import { ApiError } from "../../api/client";
import { renderUi } from "../../test/render";
import { HospitalEditorForm } from "./HospitalsTab";

describe("HospitalEditorForm", () => {
  it("checks the fields before sending, in the user's words", async () => {
    const onSave = vi.fn();
    renderUi(<HospitalEditorForm onSave={onSave} />);
    await userEvent.click(screen.getByRole("button", { name: "Save" }));
    expect(onSave).not.toHaveBeenCalled();
    expect(screen.getByLabelText("Name")).toHaveAttribute("aria-invalid", "true");
    expect(screen.getAllByRole("alert").map((a) => a.textContent)).toContain("Required.");
  });

  it("sends the body and shows the server's field error next to the field", async () => {
    const onSave = vi.fn().mockRejectedValue(
      new ApiError(409, "conflict", "a hospital h-x exists already", [{ field: "body.id", problem: "a hospital h-x exists already" }]),
    );
    renderUi(<HospitalEditorForm onSave={onSave} />);
    await userEvent.type(screen.getByLabelText("Id (optional)"), "h-x");
    await userEvent.type(screen.getByLabelText("Name"), "  Xishan Township  ");
    await userEvent.selectOptions(screen.getByLabelText("Level"), "township");
    await userEvent.type(screen.getByLabelText("Patient ID issuer"), "XISHAN");
    await userEvent.click(screen.getByRole("button", { name: "Save" }));
    expect(onSave).toHaveBeenCalledWith({ id: "h-x", name: "Xishan Township", level: "township", patient_id_issuer: "XISHAN" });
    expect(await screen.findByLabelText("Id (optional)")).toHaveAttribute("aria-invalid", "true");
    expect(screen.getAllByText("a hospital h-x exists already").length).toBeGreaterThanOrEqual(2); // the banner and the field
  });

  it("does not offer the id when editing", () => {
    renderUi(<HospitalEditorForm hospital={{ id: "h-anping", name: "Anping", level: "county", patient_id_issuer: "ANPING", created_at: "" }} onSave={vi.fn()} />);
    expect(screen.queryByLabelText("Id (optional)")).toBeNull();
    expect(screen.getByLabelText("Name")).toHaveValue("Anping");
  });
});
