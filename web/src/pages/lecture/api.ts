// The lecture screens' queries and actions. What a person may do is the server's `allowed_actions` (and the
// detail's may_moderate / sees_attendance); the web app keeps no copy of the lecture's rules.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { api, apiError, ok } from "../../api/client";
import { getToken } from "../../auth/token";
import type { Lecture, LectureAction } from "../../api/generated/schema";

export type {
  Credit,
  Lecture,
  LectureAttendance,
  LectureDetail,
  Question,
  QuizResult,
  WatchToken,
} from "../../api/generated/schema";

export function allows(lecture: Pick<Lecture, "allowed_actions">, action: LectureAction): boolean {
  return lecture.allowed_actions.includes(action);
}

const path = (id: string) => ({ params: { path: { lecture_id: id } } });

export function useLectures() {
  return useQuery({
    queryKey: ["lectures"],
    queryFn: () => ok(api.GET("/api/lectures", { params: { query: { limit: 200 } } })),
    refetchInterval: 30_000, // a lecture going live shows without a reload
  });
}

export function useLecture(id: string) {
  return useQuery({
    queryKey: ["lecture", id],
    queryFn: () => ok(api.GET("/api/lectures/{lecture_id}", path(id))),
    refetchInterval: 10_000, // state (live, replay) and the viewer's own minutes move on their own
  });
}

export function useQuestions(id: string, enabled: boolean) {
  return useQuery({
    queryKey: ["lecture-questions", id],
    queryFn: () => ok(api.GET("/api/lectures/{lecture_id}/questions", path(id))),
    refetchInterval: 5_000,
    enabled,
  });
}

export function useCredits() {
  return useQuery({ queryKey: ["lecture-credits"], queryFn: () => ok(api.GET("/api/lectures/credits")) });
}

export function useAttendance(id: string) {
  return useQuery({
    queryKey: ["lecture-attendance", id],
    queryFn: () => ok(api.GET("/api/lectures/{lecture_id}/attendance", path(id))),
  });
}

function useRefresh(id: string) {
  const client = useQueryClient();
  return () => {
    void client.invalidateQueries({ queryKey: ["lectures"] });
    void client.invalidateQueries({ queryKey: ["lecture", id] });
    void client.invalidateQueries({ queryKey: ["lecture-questions", id] });
    void client.invalidateQueries({ queryKey: ["lecture-credits"] });
  };
}

export function useLectureActions(id: string) {
  const refresh = useRefresh(id);
  const p = path(id);
  return {
    register: useMutation({
      mutationFn: () => ok(api.POST("/api/lectures/{lecture_id}/registration", { ...p, body: {} })),
      onSuccess: refresh,
    }),
    unregister: useMutation({
      mutationFn: () => ok(api.DELETE("/api/lectures/{lecture_id}/registration", p)),
      onSuccess: refresh,
    }),
    start: useMutation({
      mutationFn: () => ok(api.POST("/api/lectures/{lecture_id}/start", { ...p, body: {} })),
      onSuccess: refresh,
    }),
    end: useMutation({
      mutationFn: () => ok(api.POST("/api/lectures/{lecture_id}/end", { ...p, body: {} })),
      onSuccess: refresh,
    }),
    cancel: useMutation({
      mutationFn: (reason: string) => ok(api.POST("/api/lectures/{lecture_id}/cancel", { ...p, body: { reason } })),
      onSuccess: refresh,
    }),
    ask: useMutation({
      mutationFn: (body: string) => ok(api.POST("/api/lectures/{lecture_id}/questions", { ...p, body: { body } })),
      onSuccess: refresh,
    }),
    vote: useMutation({
      mutationFn: (qid: number) =>
        ok(
          api.POST("/api/lectures/{lecture_id}/questions/{question_id}/vote", {
            params: { path: { lecture_id: id, question_id: qid } },
            body: {},
          }),
        ),
      onSuccess: refresh,
    }),
    pick: useMutation({
      mutationFn: (qid: number) =>
        ok(
          api.POST("/api/lectures/{lecture_id}/questions/{question_id}/pick", {
            params: { path: { lecture_id: id, question_id: qid } },
            body: {},
          }),
        ),
      onSuccess: refresh,
    }),
    chapter: useMutation({
      mutationFn: (title: string) => ok(api.POST("/api/lectures/{lecture_id}/chapters", { ...p, body: { title } })),
      onSuccess: refresh,
    }),
    quiz: useMutation({
      mutationFn: (answers: number[]) => ok(api.POST("/api/lectures/{lecture_id}/quiz", { ...p, body: { answers } })),
      onSuccess: refresh,
    }),
  };
}

/** A watch token for the lecture's HLS files (asked for again before it runs out: see Player). */
export function watchToken(id: string) {
  return ok(api.POST("/api/lectures/{lecture_id}/watch", { ...path(id), body: {} }));
}

/** The attendance as a CSV file the browser saves (the route needs the bearer token, so no plain link). */
export async function downloadAttendance(id: string): Promise<void> {
  const url = `/api/lectures/${encodeURIComponent(id)}/attendance.csv`;
  const response = await fetch(url, { headers: { Authorization: `Bearer ${getToken() ?? ""}` } });
  if (!response.ok) throw apiError(response.status, response.statusText, await response.json().catch(() => null));
  const blob = await response.blob();
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = `attendance-${id}.csv`;
  link.click();
  URL.revokeObjectURL(link.href);
}
