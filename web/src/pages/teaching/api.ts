// The teaching screens' queries and the names they use from the generated API types. One cache key per resource
// ("teaching-case", id), so an action's answer refreshes every screen that shows the case.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { api, ok } from "../../api/client";
import type { components } from "../../api/generated/schema";

type S = components["schemas"];
export type TeachingCaseCard = S["TeachingCaseCard"];
export type TeachingCaseDetail = S["TeachingCaseDetail"];
export type Curation = S["CurationOut"];
export type Deidentification = S["Deidentification"];
export type Attempt = S["Attempt"];
export type Comparison = S["Comparison"];
export type Proposal = S["Proposal"];
export type TeachingAction = S["TeachingAction"];
export type CurationBody = S["CurationBody"];

export interface LibraryFilter {
  q?: string;
  modality?: string;
  body_part?: string;
  difficulty?: S["Difficulty"];
  tag?: string;
  state?: S["TeachingState"];
}

export function useLibrary(filter: LibraryFilter) {
  const query = Object.fromEntries(Object.entries(filter).filter(([, v]) => v)) as LibraryFilter;
  return useQuery({
    queryKey: ["teaching-library", query],
    queryFn: () => ok(api.GET("/api/teaching/cases", { params: { query: { ...query, limit: 100 } } })),
  });
}

export function useTeachingCase(id: string) {
  return useQuery({
    queryKey: ["teaching-case", id],
    queryFn: () => ok(api.GET("/api/teaching/cases/{case_id}", { params: { path: { case_id: id } } })),
    // While the workflow de-identifies, look again until the review can open.
    refetchInterval: (q) => (q.state.data && ["nominated", "deidentifying"].includes(q.state.data.state) ? 1500 : false),
  });
}

/** An educator's action on a case; its answer is the case as it now stands. */
export function useCaseAction(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async ({ action, body }: { action: Exclude<TeachingAction, "edit">; body: { comment: string } }) => {
      const path = { params: { path: { case_id: id } }, body };
      if (action === "accept") return ok(api.POST("/api/teaching/cases/{case_id}/accept", path));
      if (action === "dismiss") return ok(api.POST("/api/teaching/cases/{case_id}/dismiss", path));
      if (action === "publish") return ok(api.POST("/api/teaching/cases/{case_id}/publish", path));
      return ok(api.POST("/api/teaching/cases/{case_id}/unpublish", path));
    },
    onSuccess: (data) => {
      client.setQueryData(["teaching-case", id], data);
      void client.invalidateQueries({ queryKey: ["teaching-library"] });
    },
  });
}

export function useSaveCuration(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: CurationBody) =>
      ok(api.PUT("/api/teaching/cases/{case_id}/curation", { params: { path: { case_id: id } }, body })),
    onSuccess: (data) => client.setQueryData(["teaching-case", id], data),
  });
}

export function viewerUrl(studyUid: string): string {
  return `/viewer/viewer?StudyInstanceUIDs=${encodeURIComponent(studyUid)}`;
}
