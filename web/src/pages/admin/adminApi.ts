// The admin API (src/yilian/api/admin.py): shapes, queries and writes. Every write refreshes the admin lists,
// the change log and the directory caches other screens read hospital names and agreements from.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { FieldValues, Path, UseFormSetError } from "react-hook-form";

import { ApiError, get, post, put } from "../../api/client";

export type HospitalLevel = "tertiary" | "county" | "township";
export const HOSPITAL_LEVELS: HospitalLevel[] = ["tertiary", "county", "township"];

export interface AdminHospital {
  id: string;
  name: string;
  level: HospitalLevel;
  patient_id_issuer: string;
  created_at?: string;
}

export type ServiceMode = "full_hosting" | "half_hosting" | "difficult_only" | "cooperation";
export const SERVICE_MODES: ServiceMode[] = ["full_hosting", "half_hosting", "difficult_only", "cooperation"];
export type SecondReading = "always" | "difficult" | "random_share" | "junior_readers" | "never";
export const SECOND_READING: SecondReading[] = ["always", "difficult", "random_share", "junior_readers", "never"];

export interface AgreementTerms {
  requesting_hospital_id: string;
  reading_hospital_id: string;
  service_mode: ServiceMode;
  sla: { stat_minutes: number; urgent_minutes: number; routine_minutes: number };
  offer_timeout_minutes: number;
  grace_minutes: number;
  auto_reassign: boolean;
  max_auto_reassigns: number;
  second_reading: SecondReading;
  second_reading_share: number;
  pause_sla_in_needs_info: boolean;
  critical_ack_minutes: number;
  critical_renotify_max: number;
  half_hosting: { modalities: string[]; hours_start: string | null; hours_end: string | null; overflow_daily_cap: number } | null;
  cooperation_modalities: string[];
  timezone: string;
  active: boolean;
}

export interface AdminAgreement extends AgreementTerms {
  id: string;
  created_at?: string;
}

export type StaffRole = "county_doctor" | "expert" | "senior" | "coordinator" | "admin";
export const STAFF_ROLES: StaffRole[] = ["county_doctor", "expert", "senior", "coordinator", "admin"];
export const READER_ROLES: StaffRole[] = ["expert", "senior"];

export interface Subspecialty {
  modality: string;
  body_part: string;
}

export interface UserFields {
  username: string;
  display_name: string;
  role: StaffRole;
  hospital_id: string | null;
  title: string;
  is_junior: boolean;
  licensed_for: string[];
  subspecialties: Subspecialty[];
  active: boolean;
}

export interface AdminUser extends UserFields {
  id: string;
  on_duty?: boolean;
  created_at?: string;
}

export interface AdminChange {
  id: number;
  at: string;
  actor_id: string;
  entity: "hospital" | "agreement" | "user";
  entity_id: string;
  action: "create" | "update" | "password";
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
}

interface Items<T> {
  items: T[];
}

// ---- reads -----------------------------------------------------------------------------------------
export const useAdminHospitals = () =>
  useQuery({ queryKey: ["admin", "hospitals"], queryFn: () => get<Items<AdminHospital>>("/api/admin/hospitals"), select: (d) => d.items });
export const useAdminAgreements = () =>
  useQuery({ queryKey: ["admin", "agreements"], queryFn: () => get<Items<AdminAgreement>>("/api/admin/agreements"), select: (d) => d.items });
export const useAdminUsers = () =>
  useQuery({ queryKey: ["admin", "users"], queryFn: () => get<Items<AdminUser>>("/api/admin/users"), select: (d) => d.items });
export const useAdminChanges = (entity: string) =>
  useQuery({
    queryKey: ["admin", "changes", entity],
    queryFn: () => get<Items<AdminChange>>(`/api/admin/changes?limit=500${entity ? `&entity=${entity}` : ""}`),
    select: (d) => d.items,
  });

// ---- writes ----------------------------------------------------------------------------------------
/** POST to create (no id yet) or PUT to replace; refreshes every cache that shows admin data. */
export function useSave<Body>(collection: "hospitals" | "agreements" | "users") {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ id, body }: { id?: string; body: Body }) =>
      id
        ? put<unknown>(`/api/admin/${collection}/${encodeURIComponent(id)}`, body as Record<string, unknown>)
        : post<unknown>(`/api/admin/${collection}`, body as Record<string, unknown>),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: ["admin"] });
      void client.invalidateQueries({ queryKey: ["hospitals"] });
      void client.invalidateQueries({ queryKey: ["agreements"] });
    },
  });
}

export function useSetPassword() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ id, password }: { id: string; password: string }) =>
      post<void>(`/api/admin/users/${encodeURIComponent(id)}/password`, { password }),
    onSuccess: () => void client.invalidateQueries({ queryKey: ["admin", "changes"] }),
  });
}

// ---- the server's field errors ---------------------------------------------------------------------
export interface FieldProblem {
  field: string;
  problem: string;
}

/** The API's details ([{field: "body.sla.stat_minutes", problem}]) as form paths ("sla.stat_minutes"). */
export function fieldProblems(error: unknown): FieldProblem[] {
  if (!(error instanceof ApiError) || !Array.isArray(error.details)) return [];
  return (error.details as unknown[])
    .filter((d): d is { field: string; problem: string } => typeof d === "object" && d !== null && "field" in d && "problem" in d)
    .map((d) => ({ field: String(d.field).replace(/^body\./, ""), problem: String(d.problem) }));
}

/**
 * Puts the server's problems next to the fields they name. `rename` maps an API path to the form's own where they
 * differ (lists edited as text, say). Returns the problems no field on the form could show.
 */
export function showServerErrors<T extends FieldValues>(
  error: unknown,
  setError: UseFormSetError<T>,
  fields: readonly string[],
  rename: Record<string, string> = {},
): FieldProblem[] {
  const unplaced: FieldProblem[] = [];
  for (const p of fieldProblems(error)) {
    // "half_hosting.modalities.0" belongs to "half_hosting.modalities"; try the longest known prefix.
    const parts = p.field.split(".");
    let placed = false;
    for (let n = parts.length; n > 0 && !placed; n--) {
      const path = parts.slice(0, n).join(".");
      const target = rename[path] ?? path;
      if (fields.includes(target)) {
        setError(target as Path<T>, { type: "server", message: p.problem });
        placed = true;
      }
    }
    if (!placed) unplaced.push(p);
  }
  return unplaced;
}
