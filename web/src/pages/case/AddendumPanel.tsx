// A correction after sign-off (POST /api/referrals/{id}/addenda): shown only to the reader the server offers it
// to (allowed_actions has add_addendum: the signer, within or after the amendment window). The signed report
// stays as it was; the addendum is a new signed version shown after it.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";

import { api, ok } from "../../api/client";
import { ErrorMessage } from "../../components/ErrorMessage";

export function AddendumPanel({ referralId }: { referralId: string }) {
  const { t } = useTranslation("county");
  const client = useQueryClient();
  const id = useId();
  const [findings, setFindings] = useState("");
  const [impression, setImpression] = useState("");
  const [missing, setMissing] = useState(false);
  const sign = useMutation({
    mutationFn: () =>
      ok(
        api.POST("/api/referrals/{referral_id}/addenda", {
          params: { path: { referral_id: referralId } },
          body: { findings: findings.trim(), impression: impression.trim(), critical: false, critical_note: "" },
        }),
      ),
    onSuccess: () => {
      setFindings("");
      setImpression("");
      void client.invalidateQueries({ queryKey: ["referral", referralId] });
      void client.invalidateQueries({ queryKey: ["audit", referralId] });
      void client.invalidateQueries({ queryKey: ["referrals"] });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    // The server refuses an incomplete addendum too; say so before sending.
    if (!findings.trim() || !impression.trim()) return setMissing(true);
    setMissing(false);
    sign.mutate();
  };
  return (
    <details className="card addendum-panel no-print">
      <summary>{t("addendum.open")}</summary>
      <form noValidate onSubmit={submit} aria-labelledby={`${id}-title`}>
        <h2 id={`${id}-title`}>{t("addendum.title")}</h2>
        <p className="muted small">{t("addendum.help")}</p>
        <label>
          {t("addendum.findings")}
          <textarea value={findings} onChange={(e) => setFindings(e.target.value)} maxLength={20000} rows={5} />
        </label>
        <label>
          {t("addendum.impression")}
          <textarea value={impression} onChange={(e) => setImpression(e.target.value)} maxLength={5000} rows={3} />
        </label>
        {missing && (
          <p className="error" role="alert">
            {t("addendum.required")}
          </p>
        )}
        <ErrorMessage error={sign.error} />
        {sign.isSuccess && (
          <p className="success" role="status">
            {t("addendum.done")}
          </p>
        )}
        <button type="submit" className="primary" disabled={sign.isPending}>
          {t("addendum.sign")}
        </button>
      </form>
    </details>
  );
}
