// One click on a signed case (its reader, its second reader): it becomes a teaching case an educator reviews.
// Shown on the case page and the reading screen; the server decides (403/409 come back in its own words).
import { useMutation } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";

import { ApiError, api, ok } from "../../api/client";
import type { Me, ReferralDetail } from "../../api/types";
import { ErrorMessage } from "../../components/ErrorMessage";

export function canFlag(me: Pick<Me, "id" | "role">, referral: Pick<ReferralDetail, "final_at" | "reader_id" | "second_reader_id">) {
  const signer = me.id === referral.reader_id || me.id === referral.second_reader_id;
  return Boolean(referral.final_at) && (me.role === "expert" || me.role === "senior") && signer;
}

export function FlagButton({ referralId }: { referralId: string }) {
  const { t } = useTranslation("teaching");
  const flag = useMutation({
    mutationFn: () => ok(api.POST("/api/teaching/nominations", { body: { referral_id: referralId } })),
  });
  const already = flag.error instanceof ApiError && flag.error.status === 409;
  return (
    <div className="teaching-flag no-print">
      <button
        type="button"
        data-testid="flag-teaching"
        disabled={flag.isPending || flag.isSuccess || already}
        onClick={() => flag.mutate()}
      >
        {t("flag.button")}
      </button>
      {flag.isSuccess && (
        <p role="status" className="muted small">
          {t("flag.done")}
        </p>
      )}
      {already ? (
        <p role="status" className="muted small">
          {t("flag.already")}
        </p>
      ) : (
        <ErrorMessage error={flag.error} />
      )}
    </div>
  );
}
