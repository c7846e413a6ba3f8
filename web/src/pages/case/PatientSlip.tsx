// The patient's link to their result: make one, show the active one as a printable QR slip, or revoke it.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useId, useState } from "react";
import { useTranslation } from "react-i18next";

import { api, ok } from "../../api/client";
import type { ShareLink } from "../../api/generated/schema";
import { ErrorMessage, Loading } from "../../components/ErrorMessage";
import { QrSlip } from "../../components/QrSlip";
import { formatDate } from "../../i18n/format";

/** The newest link the patient can still open. */
export function activeLink(links: ShareLink[]): ShareLink | null {
  return (
    [...links]
      .filter((l) => l.status === "active" && l.url)
      .sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at))[0] ?? null
  );
}

/** Print only the slip: the print stylesheet shows nothing else while body has this class. */
function printSlip() {
  document.body.classList.add("printing-slip");
  const done = () => {
    document.body.classList.remove("printing-slip");
    window.removeEventListener("afterprint", done);
  };
  window.addEventListener("afterprint", done);
  window.print();
}

export function PatientSlip({
  referralId,
  patientName,
  hospital,
  reportDate,
}: {
  referralId: string;
  patientName: string;
  hospital: string;
  reportDate: string | null;
}) {
  const { t, i18n } = useTranslation("county");
  const client = useQueryClient();
  const key = ["share-links", referralId];
  const links = useQuery({
    queryKey: key,
    queryFn: () =>
      ok(api.GET("/api/referrals/{referral_id}/share-links", { params: { path: { referral_id: referralId } } })),
  });
  // null until the county changes it: the server's lifetime for a new link (YILIAN_SHARE_LINK_DAYS).
  const [days, setDays] = useState<number | null>(null);
  const [confirmRevoke, setConfirmRevoke] = useState(false);
  const [revoked, setRevoked] = useState(false);
  const create = useMutation({
    mutationFn: () =>
      ok(
        api.POST("/api/referrals/{referral_id}/share-links", {
          params: { path: { referral_id: referralId } },
          body: days === null ? {} : { days },
        }),
      ),
    onSuccess: () => {
      setRevoked(false);
      void client.invalidateQueries({ queryKey: key });
    },
  });
  const revoke = useMutation({
    mutationFn: (linkId: string) =>
      ok(api.POST("/api/share-links/{link_id}/revoke", { params: { path: { link_id: linkId } } })),
    onSuccess: () => {
      setConfirmRevoke(false);
      setRevoked(true);
      void client.invalidateQueries({ queryKey: key });
    },
  });
  const id = useId();
  const link = activeLink(links.data?.items ?? []);
  useEffect(() => setConfirmRevoke(false), [link?.link_id]);

  return (
    <section className="card patient-slip" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`} className="no-print">
        {t("slip.title")}
      </h2>
      {links.isLoading && <Loading />}
      <ErrorMessage error={links.error} onRetry={() => void links.refetch()} />
      {revoked && !link && (
        <p role="status" className="success no-print">
          {t("slip.revoked")}
        </p>
      )}
      {links.data && !link && (
        <div className="no-print">
          <p className="muted">{t("slip.none")}</p>
          <div className="row">
            <label className="days">
              {t("slip.days")}
              <input
                type="number"
                min={1}
                max={365}
                value={days ?? links.data.default_days}
                onChange={(e) => setDays(Math.min(365, Math.max(1, Number(e.target.value) || 1)))}
              />
            </label>
            <button type="button" className="primary" disabled={create.isPending} onClick={() => create.mutate()}>
              {t("slip.create")}
            </button>
          </div>
          <ErrorMessage error={create.error} />
        </div>
      )}
      {link?.url && (
        <>
          <QrSlip
            url={link.url}
            patientName={patientName}
            hospital={hospital}
            date={formatDate(reportDate || link.created_at, i18n.language, "date")}
            expires={formatDate(link.expires_at, i18n.language, "date")}
          />
          <div className="row no-print slip-actions">
            <button type="button" className="primary" onClick={printSlip}>
              {t("slip.print")}
            </button>
            {!confirmRevoke && (
              <button type="button" className="danger" onClick={() => setConfirmRevoke(true)}>
                {t("slip.revoke")}
              </button>
            )}
          </div>
          {confirmRevoke && (
            <div role="alertdialog" aria-labelledby={`${id}-revoke`} className="warning no-print confirm">
              <p id={`${id}-revoke`}>{t("slip.revokeConfirm")}</p>
              <div className="row">
                <button type="button" className="danger" disabled={revoke.isPending} onClick={() => revoke.mutate(link.link_id)}>
                  {t("slip.revokeYes")}
                </button>
                <button type="button" onClick={() => setConfirmRevoke(false)}>
                  {t("slip.revokeNo")}
                </button>
              </div>
            </div>
          )}
          <ErrorMessage error={revoke.error} />
        </>
      )}
    </section>
  );
}
