// A doctor's learning history (/teaching/history): the cases they opened and how often they tried them.
import { useQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { Link } from "react-router-dom";

import { api, ok } from "../../api/client";
import { ErrorMessage, Loading } from "../../components/ErrorMessage";
import { formatDateTime } from "../../i18n/format";

export default function History() {
  const { t, i18n } = useTranslation("teaching");
  const history = useQuery({
    queryKey: ["teaching-history"],
    queryFn: () => ok(api.GET("/api/teaching/history", { params: { query: { limit: 100 } } })),
  });
  return (
    <section aria-labelledby="history-title">
      <h1 id="history-title">{t("history.title")}</h1>
      {history.isPending ? (
        <Loading />
      ) : history.error ? (
        <ErrorMessage error={history.error} onRetry={() => void history.refetch()} />
      ) : history.data.items.length === 0 ? (
        <p className="muted">{t("history.empty")}</p>
      ) : (
        <table className="responsive">
          <thead>
            <tr>
              <th scope="col">{t("case.diagnosis")}</th>
              <th scope="col">{t("history.views")}</th>
              <th scope="col">{t("history.attempts")}</th>
              <th scope="col">{t("history.lastSeen")}</th>
            </tr>
          </thead>
          <tbody>
            {history.data.items.map((h) => (
              <tr key={h.case_id} data-testid={`history-${h.case_id}`}>
                <td>
                  <Link to={`/teaching/${h.case_id}`}>{h.title}</Link>{" "}
                  <span className="muted small">
                    {h.modality} {h.body_part}
                  </span>
                </td>
                <td>{h.views}</td>
                <td>{h.attempts}</td>
                <td>{formatDateTime(h.last_seen_at, i18n.language)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
