import { fireEvent, screen } from "@testing-library/react";
import { useState } from "react";
import { describe, expect, it, vi } from "vitest";

import { renderUi } from "../../test/render";
import { StructuredFields } from "./ReportEditor";
import { GENERIC_TEMPLATE, structuredFor, templateFor, templateForDraft, TEMPLATES } from "./templates";

describe("report templates", () => {
  it("picks the template by modality and body part, falling back to the generic one", () => {
    expect(templateFor("CT", "CHEST").id).toBe("ct-chest");
    expect(templateFor("CT", "BRAIN").id).toBe("ct-head");
    expect(templateFor("CR", "chest").id).toBe("dx-chest");
    expect(templateFor("MR", "L-SPINE").id).toBe("mr-spine");
    expect(templateFor("US", "ABDOMEN")).toBe(GENERIC_TEMPLATE);
  });

  it("has the required templates, each with en and zh names", () => {
    for (const id of ["ct-chest", "ct-head", "ct-abdomen", "dx-chest", "mr-head", "mr-spine"]) {
      const t = TEMPLATES.find((x) => x.id === id);
      expect(t, id).toBeDefined();
      expect(t!.name.en && t!.name.zh).toBeTruthy();
      expect(t!.fields.length).toBeGreaterThan(0);
    }
  });

  it("reopens a draft with the template that holds its structured keys", () => {
    expect(templateForDraft("CT", "CHEST", { haemorrhage: "none" }).id).toBe("ct-head");
    expect(templateForDraft("CT", "CHEST", { lung_rads: "3" }).id).toBe("ct-chest");
  });

  it("keeps only this template's non-blank values", () => {
    const ct = templateFor("CT", "CHEST");
    expect(structuredFor(ct, { nodules: "solitary", largest_nodule_mm: " 8 ", effusion: "", haemorrhage: "none" })).toEqual({
      nodules: "solitary",
      largest_nodule_mm: "8",
    });
  });
});

function Harness({ onValues }: { onValues: (v: Record<string, string>) => void }) {
  const template = templateFor("CT", "CHEST");
  const [values, setValues] = useState<Record<string, string>>({});
  return (
    <StructuredFields
      template={template}
      values={values}
      onChange={(k, v) => {
        const next = { ...values, [k]: v };
        setValues(next);
        onValues(structuredFor(template, next));
      }}
    />
  );
}

describe("StructuredFields", () => {
  it("renders each field of the CT chest template with its options and produces structured values", () => {
    const onValues = vi.fn();
    renderUi(<Harness onValues={onValues} />);
    const nodules = screen.getByLabelText("Nodules");
    expect(nodules.tagName).toBe("SELECT");
    expect(Array.from((nodules as HTMLSelectElement).options).map((o) => o.textContent)).toEqual([
      "— not stated —",
      "None",
      "Solitary",
      "Multiple",
    ]);
    expect(screen.getByLabelText("Lung-RADS category")).toBeInTheDocument();
    expect(screen.getByLabelText("Pleural effusion")).toBeInTheDocument();

    fireEvent.change(nodules, { target: { value: "multiple" } });
    fireEvent.change(screen.getByLabelText("Largest nodule (mm)"), { target: { value: "12" } });
    fireEvent.change(screen.getByLabelText("Pleural effusion"), { target: { value: "bilateral" } });
    expect(onValues).toHaveBeenLastCalledWith({ nodules: "multiple", largest_nodule_mm: "12", effusion: "bilateral" });
  });

  it("shows the Chinese labels in Chinese", () => {
    renderUi(<Harness onValues={() => undefined} />, { lang: "zh" });
    expect(screen.getByLabelText("结节")).toBeInTheDocument();
    expect(screen.getByRole("option", { name: "单发" })).toBeInTheDocument();
  });
});
