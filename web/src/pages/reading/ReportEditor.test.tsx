import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";

import { renderUi } from "../../test/render";
import { ReportEditor } from "./ReportEditor";

function setup(onSubmit = vi.fn().mockResolvedValue({}), onSaveDraft = vi.fn().mockResolvedValue({})) {
  renderUi(
    <ReportEditor
      modality="CT"
      bodyPart="CHEST"
      initial={null}
      initialSavedAt={null}
      onSaveDraft={onSaveDraft}
      onSubmit={onSubmit}
      editable
    />,
  );
  return { onSubmit, onSaveDraft, user: userEvent.setup() };
}

describe("ReportEditor", () => {
  it("starts from the study's template text", () => {
    setup();
    expect(screen.getByLabelText("Report template")).toHaveValue("ct-chest");
    expect((screen.getByLabelText("Findings") as HTMLTextAreaElement).value).toMatch(/^Lungs:/);
  });

  it("requires a note for a critical finding, then submits after confirmation", async () => {
    const { onSubmit, onSaveDraft, user } = setup();
    await user.selectOptions(screen.getByLabelText("Lung-RADS category"), "4B");
    await user.type(screen.getByLabelText("Impression"), "Suspicious nodule");
    await user.click(screen.getByRole("checkbox", { name: "Critical finding" }));
    await user.click(screen.getByRole("button", { name: "Submit preliminary report" }));
    expect(screen.getByRole("alert")).toHaveTextContent("Describe the critical finding");
    expect(onSubmit).not.toHaveBeenCalled();

    await user.type(screen.getByLabelText("Critical finding note"), "Tension pneumothorax");
    await user.click(screen.getByRole("button", { name: "Submit preliminary report" }));
    await user.click(screen.getByRole("button", { name: "Confirm submission" }));
    expect(onSaveDraft).toHaveBeenCalled(); // the draft is saved before submitting
    expect(onSubmit).toHaveBeenCalledWith(
      expect.objectContaining({
        impression: "Suspicious nodule",
        structured: { lung_rads: "4B" },
        critical: true,
        critical_note: "Tension pneumothorax",
      }),
    );
  });
});
