// The educator's queue (/teaching/queue): what Yilian proposes (signed cases with a discrepancy, a critical finding
// or a rare diagnosis nobody decided on), accept or dismiss; and the flagged cases waiting for review.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { Link } from "react-router-dom";

import { api, ok } from "../../api/client";
import { ErrorMessage, Loading } from "../../components/ErrorMessage";
import { formatDateTime } from "../../i18n/format";
import { CaseCard } from "./Library";
import { useLibrary } from "./api";

function Proposals() {
  const { t, i18n } = useTranslation("teaching");
  const client = useQueryClient();
  const proposals = useQuery({
    queryKey: ["teaching-proposals"],
    queryFn: () => ok(api.GET("/api/teaching/proposals", { params: { query: { limit: 100 } } })),
  });
  const decide = useMutation({
    mutationFn: ({ referralId, accept }: { referralId: string; accept: boolean }) => {
      const path = { params: { path: { referral_id: referralId } } };
      return accept
        ? ok(api.POST("/api/teaching/proposals/{referral_id}/accept", path))
        : ok(api.POST("/api/teaching/proposals/{referral_id}/dismiss", path));
    },
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: ["teaching-proposals"] });
      void client.invalidateQueries({ queryKey: ["teaching-library"] });
    },
  });
  return (
    <section className="card" aria-labelledby="proposals-title">
      <h2 id="proposals-title">{t("queue.proposals")}</h2>
      <p className="muted small">{t("queue.proposalsIntro")}</p>
      {proposals.isPending ? (
        <Loading />
      ) : proposals.error ? (
        <ErrorMessage error={proposals.error} onRetry={() => void proposals.refetch()} />
      ) : proposals.data.items.length === 0 ? (
        <p className="muted">{t("queue.noProposals")}</p>
      ) : (
        <table className="responsive">
          <thead>
            <tr>
              <th scope="col">{t("library.modality")}</th>
              <th scope="col">{t("queue.impression")}</th>
              <th scope="col">{t("queue.reasons")}</th>
              <th scope="col">{t("queue.signedAt")}</th>
              <th scope="col" />
            </tr>
          </thead>
          <tbody>
            {proposals.data.items.map((p) => (
              <tr key={p.referral_id} data-testid={`proposal-${p.referral_id}`}>
                <td>
                  {p.modality} {p.body_part}
                </td>
                <td>
                  {p.impression} {p.icd10 && <span className="muted small">({p.icd10})</span>}
                </td>
                <td>{p.reasons.map((r) => t(`reason.${r}`)).join("、")}</td>
                <td>{formatDateTime(p.final_at, i18n.language)}</td>
                <td className="row">
                  <button
                    type="button"
                    className="primary"
                    disabled={decide.isPending}
                    onClick={() => decide.mutate({ referralId: p.referral_id, accept: true })}
                  >
                    {t("action.accept")}
                  </button>
                  <button
                    type="button"
                    disabled={decide.isPending}
                    onClick={() => decide.mutate({ referralId: p.referral_id, accept: false })}
                  >
                    {t("action.dismiss")}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <ErrorMessage error={decide.error} />
      {decide.isSuccess && (
        <p role="status" className="muted small">
          {decide.data.decision === "accepted" ? (
            <Link to={`/teaching/${decide.data.case_id}`}>{t("queue.accepted")}</Link>
          ) : (
            t("queue.dismissed")
          )}
        </p>
      )}
    </section>
  );
}

function Flagged() {
  const { t } = useTranslation("teaching");
  const nominated = useLibrary({ state: "nominated" });
  const review = useLibrary({ state: "in_review" });
  const items = [...(nominated.data?.items ?? []), ...(review.data?.items ?? [])];
  return (
    <section aria-labelledby="flagged-title">
      <h2 id="flagged-title">{t("queue.flagged")}</h2>
      {nominated.isPending || review.isPending ? (
        <Loading />
      ) : items.length === 0 ? (
        <p className="muted">{t("queue.noFlagged")}</p>
      ) : (
        <ul className="teaching-cards">
          {items.map((item) => (
            <CaseCard key={item.id} item={item} educator />
          ))}
        </ul>
      )}
      <ErrorMessage error={nominated.error ?? review.error} />
    </section>
  );
}

export default function Queue() {
  const { t } = useTranslation("teaching");
  return (
    <div className="teaching-queue">
      <h1>{t("queue.title")}</h1>
      <Flagged />
      <Proposals />
    </div>
  );
}
