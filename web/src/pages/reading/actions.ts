// Case actions (POST /api/referrals/{id}/<action>): one mutation that refreshes every screen showing the case.
import { useMutation, useQueryClient } from "@tanstack/react-query";

import { post, put } from "../../api/client";
import type { Referral } from "../../api/types";

export type CaseAction =
  | "accept"
  | "decline"
  | "preliminary"
  | "approve"
  | "request-changes"
  | "request-info";

export interface CaseActionInput {
  id: string;
  action: CaseAction;
  body: Record<string, unknown>;
}

export function useCaseAction() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ id, action, body }: CaseActionInput) => post<Referral>(`/api/referrals/${id}/${action}`, body),
    onSettled: (_data, _error, { id }) => {
      void client.invalidateQueries({ queryKey: ["referral", id] });
      void client.invalidateQueries({ queryKey: ["referrals"] });
      void client.invalidateQueries({ queryKey: ["audit", id] });
    },
  });
}

export function saveDraft(id: string, body: object): Promise<Referral> {
  return put<Referral>(`/api/referrals/${id}/draft`, body as Record<string, unknown>);
}
