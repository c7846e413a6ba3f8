import { describe, expect, it } from "vitest";

import { diffChange, showValue } from "./changeDiff";

describe("diffChange", () => {
  it("lists the changed leaves of nested terms, arrays compared whole", () => {
    const before = { id: "agr-1", sla: { stat_minutes: 30, urgent_minutes: 120 }, cooperation_modalities: [], active: true };
    const after = { id: "agr-1", sla: { stat_minutes: 45, urgent_minutes: 120 }, cooperation_modalities: ["CT"], active: false };
    expect(diffChange(before, after)).toEqual([
      { path: "sla.stat_minutes", before: 30, after: 45 },
      { path: "cooperation_modalities", before: [], after: ["CT"] },
      { path: "active", before: true, after: false },
    ]);
  });

  it("shows every field of a creation but its timestamp", () => {
    expect(diffChange(null, { id: "h-x", name: "X", created_at: "2026-11-23" })).toEqual([
      { path: "id", before: undefined, after: "h-x" },
      { path: "name", before: undefined, after: "X" },
    ]);
  });

  it("formats values for people", () => {
    expect(showValue([{ modality: "CT", body_part: "HEAD" }])).toBe("CT HEAD");
    expect(showValue(null)).toBe("null");
    expect(showValue(undefined)).toBe("—");
  });
});
