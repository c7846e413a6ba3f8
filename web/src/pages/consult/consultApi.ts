// The consult screens' queries and actions. What a person may do is the server's `allowed_actions`; the web app
// keeps no copy of the consult's rules and the server checks every action it is sent.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { api, ok } from "../../api/client";
import type { Consult, ConsultPersonAction } from "../../api/generated/schema";

export type { Attendance, Consult, ConsultDetail, ConsultMessage, Person } from "../../api/generated/schema";

export function allowsConsult(consult: Pick<Consult, "allowed_actions">, action: ConsultPersonAction): boolean {
  return consult.allowed_actions.includes(action);
}

export function useConsults() {
  return useQuery({
    queryKey: ["consults"],
    queryFn: () => ok(api.GET("/api/consults", { params: { query: { limit: 200 } } })),
    refetchInterval: 60_000, // the "starts in" reminders move on even without a live event
  });
}

export function useConsult(id: string) {
  return useQuery({
    queryKey: ["consult", id],
    queryFn: () => ok(api.GET("/api/consults/{consult_id}", { params: { path: { consult_id: id } } })),
  });
}

export interface PeopleFilter {
  hospital_id?: string;
  role?: string;
  specialty?: string;
}

export function usePeople(filter: PeopleFilter) {
  return useQuery({
    queryKey: ["people", filter],
    queryFn: () =>
      ok(
        api.GET("/api/people", {
          params: {
            query: {
              hospital_id: filter.hospital_id || undefined,
              role: filter.role ? [filter.role as "expert"] : undefined,
              specialty: filter.specialty || undefined,
              limit: 200,
            },
          },
        }),
      ),
    select: (page) => page.items,
  });
}

export interface ScheduleValues {
  starts_at: string; // ISO with offset
  duration_minutes: number;
  invitee_ids: string[];
  agenda: string;
}

/** After any change: the consult, the lists it is in, and the cases whose timelines it touches. */
export function useConsultRefresh() {
  const client = useQueryClient();
  return (consult?: Consult) => {
    void client.invalidateQueries({ queryKey: ["consults"] });
    if (consult) {
      void client.invalidateQueries({ queryKey: ["consult", consult.id] });
      for (const id of consult.case_ids) void client.invalidateQueries({ queryKey: ["referral", id] });
    }
  };
}

export function useScheduleConsult(id: string, kind: "schedule" | "reschedule") {
  const refresh = useConsultRefresh();
  return useMutation({
    mutationFn: (body: ScheduleValues) =>
      kind === "schedule"
        ? ok(api.POST("/api/consults/{consult_id}/schedule", { params: { path: { consult_id: id } }, body }))
        : ok(api.POST("/api/consults/{consult_id}/reschedule", { params: { path: { consult_id: id } }, body })),
    onSuccess: refresh,
  });
}

export function useConsultAction(id: string) {
  const refresh = useConsultRefresh();
  const path = { params: { path: { consult_id: id } } };
  return {
    open: useMutation({
      mutationFn: () => ok(api.POST("/api/consults/{consult_id}/open", { ...path, body: {} })),
      onSuccess: refresh,
    }),
    cancel: useMutation({
      mutationFn: (reason: string) => ok(api.POST("/api/consults/{consult_id}/cancel", { ...path, body: { reason } })),
      onSuccess: refresh,
    }),
    handOver: useMutation({
      mutationFn: (to: string) => ok(api.POST("/api/consults/{consult_id}/hand-over", { ...path, body: { to } })),
      onSuccess: refresh,
    }),
    conclude: useMutation({
      mutationFn: (body: { participants: string[]; discussion: string; recommendation: string }) =>
        ok(api.POST("/api/consults/{consult_id}/conclude", { ...path, body })),
      onSuccess: refresh,
    }),
  };
}
