// The admin forms' validation, mirroring the server's (src/yilian/api/routes/admin.py) so most mistakes are caught before
// a round trip; the server stays the authority and its field errors are shown next to the same fields.
// Messages are keys of i18n/admin.ts "v.*".
import { z } from "zod";

import {
  HOSPITAL_LEVELS,
  SECOND_READING,
  SERVICE_MODES,
  STAFF_ROLES,
  type AdminAgreement,
  type AdminHospital,
  type AdminUser,
  type Bodies,
  type InHouseReading,
  type InHouseReadingBody,
} from "./adminApi";
import type { AgreementBody, NewAgreement, NewHospital, UserBody } from "../../api/generated/schema";

const ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const MODALITY = /^[A-Z]{2,16}$/;
const CLOCK = /^([01][0-9]|2[0-3]):[0-5][0-9]$/;
const USERNAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

const int = (min: number, max: number, message: string) =>
  z.number({ invalid_type_error: message, required_error: message }).int(message).min(min, message).max(max, message);
const optionalId = z.string().trim().refine((v) => v === "" || ID.test(v), "id");
const text = (max: number) => z.string().trim().min(1, "required").max(max, "tooLong");

/** "CT, mr dx" -> ["CT", "MR", "DX"]: lists of modality codes are typed as text. */
export function parseModalities(value: string): string[] {
  return [...new Set(value.split(/[\s,，;；]+/).map((m) => m.trim().toUpperCase()).filter(Boolean))];
}
const modalityText = z.string().refine((v) => {
  const list = parseModalities(v);
  return list.length <= 32 && list.every((m) => MODALITY.test(m));
}, "modalities");

// ---- hospitals -------------------------------------------------------------------------------------
export const hospitalSchema = z.object({
  id: optionalId,
  name: text(200),
  level: z.enum(HOSPITAL_LEVELS as [string, ...string[]], { errorMap: () => ({ message: "required" }) }),
  patient_id_issuer: text(64),
});
export type HospitalForm = z.infer<typeof hospitalSchema>;

export const hospitalDefaults = (h?: AdminHospital): HospitalForm =>
  h ? { id: h.id, name: h.name, level: h.level, patient_id_issuer: h.patient_id_issuer } : { id: "", name: "", level: "county", patient_id_issuer: "" };

export function hospitalBody(values: HospitalForm, creating: boolean): NewHospital {
  const { id, ...rest } = values;
  const body = { ...rest, level: rest.level as NewHospital["level"] };
  return creating && id ? { id, ...body } : body;
}

// ---- agreements ------------------------------------------------------------------------------------
const MINUTES_MONTH = 60 * 24 * 30;

/** The case terms an agreement and an in-house reading policy both set from their forms (see CaseTermsFields). */
const caseTerms = {
  sla: z.object({
    stat_minutes: int(1, MINUTES_MONTH, "slaMinutes"),
    urgent_minutes: int(1, MINUTES_MONTH, "slaMinutes"),
    routine_minutes: int(1, MINUTES_MONTH, "slaMinutes"),
  }),
  offer_timeout_minutes: int(1, 1440, "minutes1"),
  second_reading: z.enum(SECOND_READING as [string, ...string[]]),
  second_reading_share: z.number({ invalid_type_error: "share" }).min(0, "share").max(1, "share"),
  pause_sla_in_needs_info: z.boolean(),
};
export type CaseTermsValues = z.infer<z.ZodObject<typeof caseTerms>>;

/** The stored terms' values, or the ones a new agreement or policy starts with. */
function caseTermsDefaults(stored: CaseTermsValues | null | undefined): CaseTermsValues {
  return {
    sla: { ...(stored?.sla ?? { stat_minutes: 30, urgent_minutes: 120, routine_minutes: 1440 }) },
    offer_timeout_minutes: stored?.offer_timeout_minutes ?? 10,
    second_reading: stored?.second_reading ?? "always",
    second_reading_share: stored?.second_reading_share ?? 0.2,
    pause_sla_in_needs_info: stored?.pause_sla_in_needs_info ?? true,
  };
}

export const agreementSchema = z
  .object({
    id: optionalId,
    requesting_hospital_id: z.string().min(1, "required"),
    reading_hospital_id: z.string().min(1, "required"),
    service_mode: z.enum(SERVICE_MODES as [string, ...string[]], { errorMap: () => ({ message: "required" }) }),
    ...caseTerms,
    grace_minutes: int(0, 1440, "minutes0"),
    auto_reassign: z.boolean(),
    max_auto_reassigns: int(0, 20, "count20"),
    critical_ack_minutes: int(1, 1440, "minutes1"),
    critical_renotify_max: int(0, 20, "count20"),
    half_hosting: z.object({
      modalities: z.string(),
      hours_start: z.string(),
      hours_end: z.string(),
      overflow_daily_cap: z.number({ invalid_type_error: "cap" }),
    }),
    cooperation_modalities: z.string(),
    timezone: text(64),
    active: z.boolean(),
  })
  .superRefine((v, ctx) => {
    const problem = (path: (string | number)[], message: string) => ctx.addIssue({ code: z.ZodIssueCode.custom, path, message });
    if (v.requesting_hospital_id && v.requesting_hospital_id === v.reading_hospital_id) {
      problem(["reading_hospital_id"], "sameParties");
    }
    if (v.service_mode === "cooperation" && !modalityText.safeParse(v.cooperation_modalities).success) {
      problem(["cooperation_modalities"], "modalities");
    }
    if (v.service_mode !== "half_hosting") return; // the half-hosting fields are hidden and not sent
    const half = v.half_hosting;
    if (!modalityText.safeParse(half.modalities).success) problem(["half_hosting", "modalities"], "modalities");
    const cap = half.overflow_daily_cap;
    const capOk = Number.isInteger(cap) && cap >= 0 && cap <= 10_000;
    if (!capOk) problem(["half_hosting", "overflow_daily_cap"], "cap");
    for (const key of ["hours_start", "hours_end"] as const) {
      if (half[key] && !CLOCK.test(half[key])) problem(["half_hosting", key], "clock");
    }
    if (!half.hours_start !== !half.hours_end) problem(["half_hosting", "hours_end"], "bothHours");
    else if (half.hours_start && half.hours_start === half.hours_end) problem(["half_hosting", "hours_end"], "sameHours");
    if (capOk && parseModalities(half.modalities).length === 0 && !half.hours_start && cap === 0) {
      problem(["half_hosting", "modalities"], "halfRule");
    }
  });
export type AgreementForm = z.infer<typeof agreementSchema>;

export function agreementDefaults(a?: AdminAgreement): AgreementForm {
  return {
    id: a?.id ?? "",
    requesting_hospital_id: a?.requesting_hospital_id ?? "",
    reading_hospital_id: a?.reading_hospital_id ?? "",
    service_mode: a?.service_mode ?? "full_hosting",
    ...caseTermsDefaults(a),
    grace_minutes: a?.grace_minutes ?? 30,
    auto_reassign: a?.auto_reassign ?? true,
    max_auto_reassigns: a?.max_auto_reassigns ?? 2,
    critical_ack_minutes: a?.critical_ack_minutes ?? 15,
    critical_renotify_max: a?.critical_renotify_max ?? 2,
    half_hosting: {
      modalities: (a?.half_hosting?.modalities ?? []).join(", "),
      hours_start: a?.half_hosting?.hours_start ?? "",
      hours_end: a?.half_hosting?.hours_end ?? "",
      overflow_daily_cap: a?.half_hosting?.overflow_daily_cap ?? 0,
    },
    cooperation_modalities: (a?.cooperation_modalities ?? []).join(", "),
    timezone: a?.timezone ?? "Asia/Shanghai",
    active: a?.active ?? true,
  };
}

/** The API's body: the half-hosting rules only for half hosting, the modality list only for cooperation. */
export function agreementBody(v: AgreementForm, creating: boolean): NewAgreement {
  const half = v.service_mode === "half_hosting";
  const body: NewAgreement = {
    requesting_hospital_id: v.requesting_hospital_id,
    reading_hospital_id: v.reading_hospital_id,
    service_mode: v.service_mode as NewAgreement["service_mode"],
    sla: v.sla,
    offer_timeout_minutes: v.offer_timeout_minutes,
    grace_minutes: v.grace_minutes,
    auto_reassign: v.auto_reassign,
    max_auto_reassigns: v.max_auto_reassigns,
    second_reading: v.second_reading as NewAgreement["second_reading"],
    second_reading_share: v.second_reading_share,
    pause_sla_in_needs_info: v.pause_sla_in_needs_info,
    critical_ack_minutes: v.critical_ack_minutes,
    critical_renotify_max: v.critical_renotify_max,
    half_hosting: half
      ? {
          modalities: parseModalities(v.half_hosting.modalities),
          hours_start: v.half_hosting.hours_start || null,
          hours_end: v.half_hosting.hours_end || null,
          overflow_daily_cap: v.half_hosting.overflow_daily_cap,
        }
      : null,
    cooperation_modalities: v.service_mode === "cooperation" ? parseModalities(v.cooperation_modalities) : [],
    timezone: v.timezone,
    active: v.active,
  };
  if (creating && v.id) body.id = v.id;
  return body;
}

/** The stored agreement as a PUT body (to flip `active` from the list without opening the form). */
export function agreementTerms(a: AdminAgreement): AgreementBody {
  const { id: _id, created_at: _created, ...terms } = a;
  return terms;
}

// ---- users -----------------------------------------------------------------------------------------
const subspecialty = z.object({
  modality: z.string().trim().toUpperCase().refine((m) => m === "*" || MODALITY.test(m), "subModality"),
  body_part: text(64),
});

const userFields = {
  username: z.string().regex(USERNAME, "username"),
  display_name: text(200),
  role: z.enum(STAFF_ROLES as [string, ...string[]], { errorMap: () => ({ message: "required" }) }),
  hospital_id: z.string(),
  title: z.string().trim().max(200, "tooLong"),
  is_junior: z.boolean(),
  licensed_for: z.array(z.string()),
  subspecialties: z.array(subspecialty),
  active: z.boolean(),
};

const hospitalForRole = (v: { role: string; hospital_id: string }, ctx: z.RefinementCtx) => {
  if (v.role !== "admin" && !v.hospital_id) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["hospital_id"], message: "hospitalRequired" });
};

export const newUserSchema = z
  .object({ ...userFields, id: optionalId, password: z.string().min(10, "password").max(256, "tooLong") })
  .superRefine(hospitalForRole);
export const userSchema = z.object({ ...userFields, id: z.string(), password: z.string() }).superRefine(hospitalForRole);
export type UserForm = z.infer<typeof newUserSchema>;

export const passwordSchema = z.object({ password: z.string().min(10, "password").max(256, "tooLong") });

export function userDefaults(u?: AdminUser): UserForm {
  return {
    id: u?.id ?? "",
    password: "",
    username: u?.username ?? "",
    display_name: u?.display_name ?? "",
    role: u?.role ?? "county_doctor",
    hospital_id: u?.hospital_id ?? "",
    title: u?.title ?? "",
    is_junior: u?.is_junior ?? false,
    licensed_for: u?.licensed_for ?? [],
    subspecialties: u?.subspecialties ?? [],
    active: u?.active ?? true,
  };
}

/** Licences and subspecialties belong to readers only: dropped for other roles, as the server insists. */
export function userBody(v: UserForm, creating: boolean): Bodies["users"] {
  const reader = v.role === "expert" || v.role === "senior";
  const body: Bodies["users"] = {
    username: v.username,
    display_name: v.display_name,
    role: v.role as UserBody["role"],
    hospital_id: v.hospital_id || null,
    title: v.title,
    is_junior: reader && v.is_junior,
    licensed_for: reader ? v.licensed_for : [],
    subspecialties: reader ? v.subspecialties : [],
    active: v.active,
  };
  if (creating) {
    body.password = v.password;
    if (v.id) body.id = v.id;
  }
  return body;
}

export function storedUserFields(u: AdminUser): UserBody {
  const { username, display_name, role, hospital_id, title, is_junior, licensed_for, subspecialties, active } = u;
  return { username, display_name, role, hospital_id, title, is_junior, licensed_for, subspecialties, active };
}

// ---- a hospital's in-house reading policy (本院写片) -------------------------------------------------
export const inHouseSchema = z.object({
  enabled: z.boolean(),
  modalities: z
    .string()
    .refine((v) => parseModalities(v).length > 0, "inHouseModalities")
    .refine((v) => modalityText.safeParse(v).success, "modalities"),
  reader_ids: z.array(z.string()),
  auto_read: z.boolean(),
  ...caseTerms,
});
export type InHouseForm = z.infer<typeof inHouseSchema>;

export function inHouseDefaults(p: InHouseReading | null): InHouseForm {
  return {
    enabled: p?.enabled ?? true,
    modalities: (p?.modalities ?? []).join(", "),
    reader_ids: p?.reader_ids ?? [],
    auto_read: p?.auto_read ?? false,
    ...caseTermsDefaults(p),
  };
}

/** The PUT body: the form's fields over the stored policy's other terms (grace, reassignment, critical results),
 * which the form does not show and a save must not reset. */
export function inHouseBody(v: InHouseForm, stored: InHouseReading | null): InHouseReadingBody {
  const kept: Partial<InHouseReadingBody> = {};
  if (stored) {
    const { hospital_id: _h, created_at: _c, updated_at: _u, ...terms } = stored;
    Object.assign(kept, terms);
  }
  return {
    ...kept,
    enabled: v.enabled,
    modalities: parseModalities(v.modalities),
    reader_ids: v.reader_ids,
    auto_read: v.auto_read,
    sla: v.sla,
    offer_timeout_minutes: v.offer_timeout_minutes,
    second_reading: v.second_reading as InHouseReadingBody["second_reading"],
    second_reading_share: v.second_reading_share,
    pause_sla_in_needs_info: v.pause_sla_in_needs_info,
  } as InHouseReadingBody;
}
