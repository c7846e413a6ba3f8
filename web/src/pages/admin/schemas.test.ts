import { describe, expect, it } from "vitest";

import { agreementBody, agreementDefaults, agreementSchema, newUserSchema, parseModalities, userBody, userDefaults, type AgreementForm } from "./schemas";

const valid = (over: Partial<AgreementForm> = {}): AgreementForm => ({
  ...agreementDefaults(),
  requesting_hospital_id: "h-anping",
  reading_hospital_id: "h-provincial",
  ...over,
});

/** path -> message of each problem the schema finds. */
function problems(values: AgreementForm): Record<string, string> {
  const result = agreementSchema.safeParse(values);
  return result.success ? {} : Object.fromEntries(result.error.issues.map((i) => [i.path.join("."), i.message]));
}

describe("agreementSchema", () => {
  it("accepts the defaults with both parties", () => {
    expect(problems(valid())).toEqual({});
  });

  it("needs both parties, and two different ones", () => {
    expect(problems(valid({ requesting_hospital_id: "", reading_hospital_id: "" }))).toEqual({
      requesting_hospital_id: "required",
      reading_hospital_id: "required",
    });
    expect(problems(valid({ reading_hospital_id: "h-anping" }))).toEqual({ reading_hospital_id: "sameParties" });
  });

  it("takes SLA targets as whole minutes from 1 to 30 days", () => {
    expect(problems(valid({ sla: { stat_minutes: 0, urgent_minutes: 1.5, routine_minutes: 43_201 } }))).toEqual({
      "sla.stat_minutes": "slaMinutes",
      "sla.urgent_minutes": "slaMinutes",
      "sla.routine_minutes": "slaMinutes",
    });
    expect(problems(valid({ sla: { stat_minutes: Number.NaN, urgent_minutes: 1, routine_minutes: 43_200 } }))).toEqual({
      "sla.stat_minutes": "slaMinutes",
    });
  });

  it("checks the other limits as the server does", () => {
    expect(
      problems(valid({ offer_timeout_minutes: 0, grace_minutes: -1, max_auto_reassigns: 21, second_reading_share: 1.2, critical_ack_minutes: 1441, id: "Bad Id" })),
    ).toEqual({
      id: "id",
      offer_timeout_minutes: "minutes1",
      grace_minutes: "minutes0",
      max_auto_reassigns: "count20",
      second_reading_share: "share",
      critical_ack_minutes: "minutes1",
    });
  });

  it("asks a half-hosting agreement for at least one rule, and for both ends of the hours", () => {
    const half = (rules: Partial<AgreementForm["half_hosting"]>) =>
      valid({ service_mode: "half_hosting", half_hosting: { modalities: "", hours_start: "", hours_end: "", overflow_daily_cap: 0, ...rules } });
    expect(problems(half({}))).toEqual({ "half_hosting.modalities": "halfRule" });
    expect(problems(half({ modalities: "ct, MR" }))).toEqual({});
    expect(problems(half({ overflow_daily_cap: 5 }))).toEqual({});
    expect(problems(half({ hours_start: "18:00" }))).toEqual({ "half_hosting.hours_end": "bothHours" });
    expect(problems(half({ hours_start: "18:00", hours_end: "18:00" }))).toEqual({ "half_hosting.hours_end": "sameHours" });
    expect(problems(half({ hours_start: "18:00", hours_end: "08:00" }))).toEqual({});
    expect(problems(half({ modalities: "C1" }))).toEqual({ "half_hosting.modalities": "modalities" });
  });

  it("ignores the hidden half-hosting rules of another mode and does not send them", () => {
    const values = valid({ service_mode: "full_hosting", half_hosting: { modalities: "??", hours_start: "x", hours_end: "", overflow_daily_cap: 0 } });
    expect(problems(values)).toEqual({});
    expect(agreementBody(values, true)).toMatchObject({ half_hosting: null, cooperation_modalities: [] });
  });

  it("builds the API body: modality text as codes, empty hours as null, the id only when creating", () => {
    const values = valid({
      id: "agr-x",
      service_mode: "half_hosting",
      half_hosting: { modalities: "ct, mr；DX", hours_start: "18:00", hours_end: "08:00", overflow_daily_cap: 0 },
    });
    expect(agreementBody(values, true)).toMatchObject({
      id: "agr-x",
      half_hosting: { modalities: ["CT", "MR", "DX"], hours_start: "18:00", hours_end: "08:00", overflow_daily_cap: 0 },
    });
    expect(agreementBody(values, false)).not.toHaveProperty("id");
    expect(parseModalities(" ct,,CT  mr ")).toEqual(["CT", "MR"]);
  });
});

describe("user schema and body", () => {
  const user = { ...userDefaults(), username: "new.reader", display_name: "New Reader", role: "expert", hospital_id: "h-provincial", password: "long-enough-1" };

  it("needs a 10-character password and a hospital for every role but admin", () => {
    expect(newUserSchema.safeParse(user).success).toBe(true);
    const bad = newUserSchema.safeParse({ ...user, password: "short", hospital_id: "" });
    expect(bad.success ? [] : bad.error.issues.map((i) => [i.path.join("."), i.message])).toEqual([
      ["password", "password"],
      ["hospital_id", "hospitalRequired"],
    ]);
    expect(newUserSchema.safeParse({ ...user, role: "admin", hospital_id: "" }).success).toBe(true);
  });

  it("drops reading licences and subspecialties for roles that do not read", () => {
    const values = { ...user, role: "coordinator", licensed_for: ["h-anping"], subspecialties: [{ modality: "CT", body_part: "CHEST" }] };
    expect(userBody(values, false)).toMatchObject({ licensed_for: [], subspecialties: [], hospital_id: "h-provincial" });
    expect(userBody(values, false)).not.toHaveProperty("password");
    expect(userBody({ ...values, role: "expert" }, true)).toMatchObject({ licensed_for: ["h-anping"], password: "long-enough-1" });
  });
});
