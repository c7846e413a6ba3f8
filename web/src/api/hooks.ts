// Shared queries: one cache key per resource, so live updates (live/LiveUpdates.tsx) refresh every screen.
import { useQuery } from "@tanstack/react-query";
import { useRef } from "react";

import { api, ok } from "./client";
import type { Hospital, Priority } from "./types";

export interface WorklistFilter {
  state?: string[];
  priority?: Priority | "";
  modality?: string;
  hospital_id?: string;
  limit?: number;
}

/** The filter as the worklist's query string takes it (empty values left out). */
export function worklistQuery(filter: WorklistFilter & { offset?: number }) {
  return {
    state: filter.state?.length ? filter.state : undefined,
    priority: filter.priority || undefined,
    modality: filter.modality || undefined,
    hospital_id: filter.hospital_id || undefined,
    limit: filter.limit,
    offset: filter.offset,
  };
}

export function useReferrals(filter: WorklistFilter = {}) {
  return useQuery({
    queryKey: ["referrals", filter],
    queryFn: () => ok(api.GET("/api/referrals", { params: { query: worklistQuery({ limit: 200, ...filter }) } })),
  });
}

export function useReferral(id: string) {
  return useQuery({
    queryKey: ["referral", id],
    queryFn: () => ok(api.GET("/api/referrals/{referral_id}", { params: { path: { referral_id: id } } })),
  });
}

export function useAudit(id: string) {
  return useQuery({
    queryKey: ["audit", id],
    queryFn: () => ok(api.GET("/api/referrals/{referral_id}/audit", { params: { path: { referral_id: id } } })),
  });
}

/** Who could read the case (coordinators): one cache for the case page's names and the reassign panel. */
export function useReaders(referralId: string, enabled = true) {
  return useQuery({
    queryKey: ["readers", referralId],
    queryFn: () => ok(api.GET("/api/readers", { params: { query: { referral_id: referralId } } })),
    select: (page) => page.items,
    enabled,
  });
}

export function useHospitals() {
  return useQuery({
    queryKey: ["hospitals"],
    queryFn: () => ok(api.GET("/api/hospitals")),
    staleTime: 5 * 60_000,
    select: (page): Record<string, Hospital> => Object.fromEntries(page.items.map((h) => [h.id, h])),
  });
}

/** A hospital's display name (falls back to its id while the directory loads). */
export function useHospitalName(): (id: string | null | undefined) => string {
  const { data, refetch, isFetching } = useHospitals();
  const asked = useRef(new Set<string>());
  return (id) => {
    if (!id) return "—";
    const name = data?.[id]?.name;
    // A hospital added after the directory was loaded (the admin just created it): fetch the directory again, once.
    if (data && !name && !isFetching && !asked.current.has(id)) {
      asked.current.add(id);
      queueMicrotask(() => void refetch());
    }
    return name ?? id;
  };
}
