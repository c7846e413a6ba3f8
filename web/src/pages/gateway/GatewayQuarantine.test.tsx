import { describe, expect, it } from "vitest";

import en from "../../i18n/admin";
import { reasonKey } from "./GatewayQuarantine";

describe("reasonKey", () => {
  it("words each DICOM failure class the cloud gives, and every key has both languages", () => {
    const cases: [string | null, string][] = [
      ["C000", "unreadable"],
      ["A900", "mismatch"],
      ["A9F1", "conflict"],
      ["A700", "resources"],
      ["0122", "sopClass"],
      ["0110", "other"],
      [null, "none"],
    ];
    for (const [code, word] of cases) {
      expect(reasonKey(code)).toBe(`quarantine.reason.${word}`);
      expect(en.en.quarantine.reason).toHaveProperty(word);
      expect(en.zh.quarantine.reason).toHaveProperty(word);
    }
  });
});
