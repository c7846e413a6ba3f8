// "Similar cases" on the case page: signed reports like this one's (on what it has, not what it rules out),
// among those the viewer may see.
import { useQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { Link } from "react-router-dom";

import { api, ok } from "../../api/client";
import { ErrorMessage, Loading } from "../../components/ErrorMessage";

export function SimilarCases({ referralId, signed }: { referralId: string; signed: boolean }) {
  const { t } = useTranslation("search");
  const similar = useQuery({
    queryKey: ["similar", referralId],
    queryFn: () => ok(api.GET("/api/search/similar/{referral_id}", { params: { path: { referral_id: referralId } } })),
    enabled: signed,
  });
  return (
    <section className="card no-print similar-cases" aria-labelledby="similar-title">
      <h2 id="similar-title">{t("similar.title")}</h2>
      {!signed && <p className="muted">{t("similar.unsigned")}</p>}
      {similar.isLoading && signed && <Loading />}
      <ErrorMessage error={similar.error} onRetry={() => void similar.refetch()} />
      {similar.data && similar.data.items.length === 0 && <p className="muted">{t("similar.none")}</p>}
      <ul>
        {similar.data?.items.map((hit) => (
          <li key={hit.referral_id}>
            <Link to={`/cases/${hit.referral_id}`}>
              {hit.modality} · {hit.body_part} · {hit.hospital_name}
            </Link>
            <div className="muted small">{hit.impression}</div>
          </li>
        ))}
      </ul>
    </section>
  );
}
