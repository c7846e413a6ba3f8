// The patient's studies from other alliance hospitals (检查结果互认), for the reader of a case: listed only while the
// patient consents (the server decides), each opening in the viewer beside the case's own study.
import { useQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";

import { api, ok } from "../../api/client";
import { ErrorMessage } from "../../components/ErrorMessage";

function day(d: string): string {
  return d.length === 8 ? `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6)}` : d;
}

export function RecognisedPriors({ id, studyUid }: { id: string; studyUid: string }) {
  const { t } = useTranslation("reading");
  const query = useQuery({
    queryKey: ["recognised-priors", id],
    queryFn: () =>
      ok(api.GET("/api/referrals/{referral_id}/recognised-priors", { params: { path: { referral_id: id } } })),
  });
  if (query.error) return <ErrorMessage error={query.error} onRetry={() => void query.refetch()} />;
  const items = query.data?.items ?? [];
  if (items.length === 0) return null;
  return (
    <section aria-labelledby="recognised-title" className="recognised-priors">
      <h3 id="recognised-title">{t("case.recognisedPriors")}</h3>
      <p className="muted small">{t("case.recognisedExplain")}</p>
      <ul className="rd-priors">
        {items.map((s) => {
          const report = s.reports.find((r) => r.kind === "final") ?? s.reports[0];
          const viewer = `/viewer/viewer?StudyInstanceUIDs=${[studyUid, s.study_instance_uid].map(encodeURIComponent).join(",")}`;
          return (
            <li key={s.study_instance_uid} data-study={s.study_instance_uid}>
              {day(s.study_date)} · {s.hospital_name} · {s.modalities.join("/")} {s.study_description} ·{" "}
              {report ? report.impression : <span className="muted">{t("case.noSignedReport")}</span>}{" "}
              <a href={viewer} target="_blank" rel="noreferrer">
                {t("case.openBeside")}
              </a>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
