import { describe, expect, it } from "vitest";

import { noticeKindValues } from "../api/generated/schema";
import i18n from "../i18n";
import notices from "./notices";
import { noticeText } from "./notice";

const placeholders = (template: string) => [...template.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]).sort();

describe("every notice kind the API names has words in zh and en", () => {
  it.each(noticeKindValues)("%s", (kind) => {
    for (const lang of ["en", "zh"] as const) {
      const text = notices[lang][kind];
      expect(text.title.trim(), `${lang} title`).not.toBe("");
      expect(text.body.trim(), `${lang} body`).not.toBe("");
    }
    // Both languages say the same things: a parameter used in one is used in the other.
    expect(placeholders(notices.zh[kind].title + notices.zh[kind].body)).toEqual(
      placeholders(notices.en[kind].title + notices.en[kind].body),
    );
  });

  it("has no kind the API does not name", () => {
    expect(Object.keys(notices.en).sort()).toEqual([...noticeKindValues].sort());
    expect(Object.keys(notices.zh).sort()).toEqual([...noticeKindValues].sort());
  });
});

describe("noticeText", () => {
  const needsInfo = { kind: "needs_info", params: { referral_id: "ref-1", request: "prior CT please" } };
  const offer = {
    kind: "offer",
    params: { referral_id: "ref-2", priority: "stat", modality: "CT", body_part: "CHEST", clinical_question: "咳嗽" },
  };

  it("renders in the reader's language, the priority too", async () => {
    await i18n.changeLanguage("zh");
    expect(noticeText(i18n.t, needsInfo)).toEqual({ title: "需补充资料", body: "申请 ref-1：prior CT please" });
    expect(noticeText(i18n.t, offer).title).toBe("新的危急病例");
    await i18n.changeLanguage("en");
    expect(noticeText(i18n.t, needsInfo)).toEqual({
      title: "More information requested",
      body: "Referral ref-1: prior CT please",
    });
    expect(noticeText(i18n.t, offer)).toEqual({ title: "New STAT case offered", body: "CT CHEST: 咳嗽" });
  });

  it("says a retake's defect reasons in the reader's words, never as codes", async () => {
    const retake = {
      kind: "retake_requested",
      params: { referral_id: "ref-3", study_instance_uid: "1.2.3", reasons: "motion,positioning", request: "屏气" },
    };
    await i18n.changeLanguage("zh");
    expect(noticeText(i18n.t, retake).body).toContain("原因：运动伪影、体位。");
    await i18n.changeLanguage("en");
    expect(noticeText(i18n.t, retake).body).toContain("needs a retake: motion, positioning.");
  });

  it("keeps the text of a notice recorded before notices had parameters", () => {
    const old = { kind: "offer", params: {}, title: "New stat case offered", body: "CT CHEST: cough" };
    expect(noticeText(i18n.t, old)).toEqual({ title: "New stat case offered", body: "CT CHEST: cough" });
  });

  it("does not read what a person wrote as a template", async () => {
    await i18n.changeLanguage("en");
    const tricky = { kind: "needs_info", params: { referral_id: "r", request: "{{referral_id}} $t(common:app.name)" } };
    expect(noticeText(i18n.t, tricky).body).toBe("Referral r: {{referral_id}} $t(common:app.name)");
  });
});
