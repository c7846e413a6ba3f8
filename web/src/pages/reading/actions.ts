// Case actions (POST /api/referrals/{id}/<action>): one mutation that refreshes every screen showing the case.
import { useMutation, useQueryClient } from "@tanstack/react-query";

import { api, ok } from "../../api/client";
import type { ReportBody } from "../../api/generated/schema";
import type { Referral } from "../../api/types";

export type CaseAction =
  | "accept"
  | "decline"
  | "preliminary"
  | "approve"
  | "request-changes"
  | "request-info"
  | "quality"
  | "retake";

export interface CaseActionInput {
  id: string;
  action: CaseAction;
  body: Record<string, unknown>;
}

export function useCaseAction() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ id, action, body }: CaseActionInput) =>
      ok(
        api.POST(`/api/referrals/{referral_id}/${action}`, {
          params: { path: { referral_id: id } },
          body: body as never, // each action's own body (CommentBody, ReportBody, ReviewBody); the server checks it
        }),
      ),
    onSettled: (_data, _error, { id }) => {
      void client.invalidateQueries({ queryKey: ["referral", id] });
      void client.invalidateQueries({ queryKey: ["referrals"] });
      void client.invalidateQueries({ queryKey: ["audit", id] });
    },
  });
}

export function saveDraft(id: string, body: ReportBody): Promise<Referral> {
  return ok(api.PUT("/api/referrals/{referral_id}/draft", { params: { path: { referral_id: id } }, body }));
}
