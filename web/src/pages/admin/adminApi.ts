// The admin API (src/yilian/api/routes/admin.py): queries and writes, typed by the generated schema. Every write
// refreshes the admin lists, the change log and the directory caches other screens read hospital names and agreements
// from.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { FieldValues, Path, UseFormSetError } from "react-hook-form";

import { ApiError, api, ok } from "../../api/client";
import {
  hospitalLevelValues,
  secondReadingPolicyValues,
  serviceModeValues,
  staffRoleValues,
  type AdminAgreement,
  type AdminEntity,
  type AdminHospital,
  type AdminUser,
  type InHouseReading,
  type InHouseReadingBody,
  type NewAgreement,
  type NewHospital,
  type NewUser,
  type StaffRole,
  type UserBody,
} from "../../api/generated/schema";

export type {
  AdminAgreement,
  AdminChange,
  AdminEntity,
  AdminHospital,
  AdminUser,
  InHouseReading,
  InHouseReadingBody,
  StaffRole,
} from "../../api/generated/schema";

export const HOSPITAL_LEVELS = hospitalLevelValues;
export const SERVICE_MODES = serviceModeValues;
export const SECOND_READING = secondReadingPolicyValues;
export const STAFF_ROLES = staffRoleValues;
export const READER_ROLES: readonly StaffRole[] = ["expert", "senior"];

// ---- reads -----------------------------------------------------------------------------------------
export const useAdminHospitals = () =>
  useQuery({ queryKey: ["admin", "hospitals"], queryFn: () => ok(api.GET("/api/admin/hospitals")), select: (d) => d.items });
export const useAdminAgreements = () =>
  useQuery({ queryKey: ["admin", "agreements"], queryFn: () => ok(api.GET("/api/admin/agreements")), select: (d) => d.items });
export const useAdminUsers = () =>
  useQuery({ queryKey: ["admin", "users"], queryFn: () => ok(api.GET("/api/admin/users")), select: (d) => d.items });
/** The change log, newest first; `entity` "" for every kind. */
export const useAdminChanges = (entity: AdminEntity | "") =>
  useQuery({
    queryKey: ["admin", "changes", entity],
    queryFn: () => ok(api.GET("/api/admin/changes", { params: { query: { limit: 500, entity: entity || undefined } } })),
    select: (d) => d.items,
  });

// ---- writes ----------------------------------------------------------------------------------------
export type Collection = "hospitals" | "agreements" | "users";
/** What a form sends (the id only when creating, a password only for a new user) and what the API answers. */
export interface Bodies {
  hospitals: NewHospital;
  agreements: NewAgreement;
  users: UserBody & Partial<Pick<NewUser, "id" | "password">>;
}
export interface Saved {
  hospitals: AdminHospital;
  agreements: AdminAgreement;
  users: AdminUser;
}

/** POST to create (no id yet) or PUT to replace. */
const SAVE: { [C in Collection]: (id: string | undefined, body: Bodies[C]) => Promise<Saved[C]> } = {
  hospitals: (id, body) =>
    id
      ? ok(api.PUT("/api/admin/hospitals/{hospital_id}", { params: { path: { hospital_id: id } }, body }))
      : ok(api.POST("/api/admin/hospitals", { body })),
  agreements: (id, body) =>
    id
      ? ok(api.PUT("/api/admin/agreements/{agreement_id}", { params: { path: { agreement_id: id } }, body }))
      : ok(api.POST("/api/admin/agreements", { body })),
  users: (id, body) =>
    id
      ? ok(api.PUT("/api/admin/users/{user_id}", { params: { path: { user_id: id } }, body }))
      : ok(api.POST("/api/admin/users", { body: { ...body, password: body.password ?? "" } })),
};

/** Saves one of `collection`; refreshes every cache that shows admin data. */
export function useSave<C extends Collection>(collection: C) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ id, body }: { id?: string; body: Bodies[C] }) => SAVE[collection](id, body),
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
      ok(api.POST("/api/admin/users/{user_id}/password", { params: { path: { user_id: id } }, body: { password } })),
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

// ---- a hospital's in-house reading policy (本院写片) -------------------------------------------------
/** The policy, or null when the hospital has none (the API's 404). */
export const useInHouseReading = (hospitalId: string) =>
  useQuery({
    queryKey: ["admin", "in-house-reading", hospitalId],
    queryFn: async (): Promise<InHouseReading | null> => {
      try {
        return await ok(api.GET("/api/admin/hospitals/{hospital_id}/in-house-reading", { params: { path: { hospital_id: hospitalId } } }));
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) return null;
        throw error;
      }
    },
  });

/** PUT (create or replace) with a body, DELETE without one; refreshes the policy and the change log. */
export function useSaveInHouseReading(hospitalId: string) {
  const client = useQueryClient();
  const path = { params: { path: { hospital_id: hospitalId } } };
  return useMutation({
    mutationFn: (body: InHouseReadingBody | null) =>
      body
        ? ok(api.PUT("/api/admin/hospitals/{hospital_id}/in-house-reading", { ...path, body }))
        : ok(api.DELETE("/api/admin/hospitals/{hospital_id}/in-house-reading", path)).then(() => null),
    onSuccess: () => void client.invalidateQueries({ queryKey: ["admin"] }),
  });
}
