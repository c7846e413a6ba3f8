// Shared queries: one cache key per resource, so live updates (live/LiveUpdates.tsx) refresh every screen.
import { useQuery } from "@tanstack/react-query";
import { useRef } from "react";

import { get, qs } from "./client";
import type { AuditEvent, Hospital, Page, Priority, Referral, ReferralDetail } from "./types";

export interface WorklistFilter {
  state?: string[];
  priority?: Priority | "";
  modality?: string;
  hospital_id?: string;
  limit?: number;
}

export function useReferrals(filter: WorklistFilter = {}) {
  return useQuery({
    queryKey: ["referrals", filter],
    queryFn: () => get<Page<Referral>>(`/api/referrals${qs({ limit: 200, ...filter })}`),
  });
}

export function useReferral(id: string) {
  return useQuery({ queryKey: ["referral", id], queryFn: () => get<ReferralDetail>(`/api/referrals/${id}`) });
}

export function useAudit(id: string) {
  return useQuery({
    queryKey: ["audit", id],
    queryFn: () => get<Page<AuditEvent>>(`/api/referrals/${id}/audit`),
  });
}

export function useHospitals() {
  return useQuery({
    queryKey: ["hospitals"],
    queryFn: () => get<Hospital[] | Page<Hospital>>("/api/hospitals"),
    staleTime: 5 * 60_000,
    select: (data): Record<string, Hospital> =>
      Object.fromEntries((Array.isArray(data) ? data : data.items).map((h) => [h.id, h])),
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
