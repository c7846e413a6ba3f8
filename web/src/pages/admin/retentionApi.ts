// The retention API (src/yilian/api/routes/retention.py, docs/retention.md): policies, a study's retention, legal
// holds, the retention trail and the guarded deletion, typed by the generated schema.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { api, ok } from "../../api/client";
import { encounterTypeValues, type EncounterType } from "../../api/generated/schema";

export type { EncounterType, LegalHold, RetentionEvent, RetentionPolicy, StudyRetention } from "../../api/generated/schema";
export const ENCOUNTER_TYPES = encounterTypeValues;

export const useRetentionPolicies = () =>
  useQuery({
    queryKey: ["retention", "policies"],
    queryFn: () => ok(api.GET("/api/retention/policies")),
    select: (d) => d.items,
  });

export const useStudyRetention = (uid: string) =>
  useQuery({
    queryKey: ["retention", "study", uid],
    queryFn: () => ok(api.GET("/api/retention/studies/{study_instance_uid}", { params: { path: { study_instance_uid: uid } } })),
    enabled: uid !== "",
    retry: false,
  });

export const useRetentionTrail = (uid: string) =>
  useQuery({
    queryKey: ["retention", "events", uid],
    queryFn: () => ok(api.GET("/api/retention/events", { params: { query: { study_instance_uid: uid, limit: 500 } } })),
    enabled: uid !== "",
    select: (d) => d.items,
  });

function useRetentionWrite<A, R>(write: (args: A) => Promise<R>) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: write,
    // A refused deletion is recorded too: the trail changes whatever the answer.
    onSettled: () => void client.invalidateQueries({ queryKey: ["retention"] }),
  });
}

export const useSetPolicy = () =>
  useRetentionWrite((body: { hospital_id: string | null; encounter_type: EncounterType; years: number }) =>
    ok(api.PUT("/api/retention/policies", { body })),
  );

export const useSetEncounter = (uid: string) =>
  useRetentionWrite((encounter_type: EncounterType) =>
    ok(api.PUT("/api/retention/studies/{study_instance_uid}/encounter", {
      params: { path: { study_instance_uid: uid } },
      body: { encounter_type },
    })),
  );

export const usePlaceHold = (uid: string) =>
  useRetentionWrite((body: { reason: string; case_reference: string }) =>
    ok(api.POST("/api/retention/studies/{study_instance_uid}/holds", { params: { path: { study_instance_uid: uid } }, body })),
  );

export const useReleaseHold = () =>
  useRetentionWrite(({ id, reason }: { id: string; reason: string }) =>
    ok(api.POST("/api/retention/holds/{hold_id}/release", { params: { path: { hold_id: id } }, body: { reason } })),
  );

export const useDeleteStudy = (uid: string) =>
  useRetentionWrite(() =>
    ok(api.DELETE("/api/studies/{study_instance_uid}", { params: { path: { study_instance_uid: uid } } })),
  );
