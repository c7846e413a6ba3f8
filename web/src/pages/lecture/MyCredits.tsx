// A doctor's own continuing-education credits (/lectures/credits).
import { useTranslation } from "react-i18next";
import { Link } from "react-router-dom";

import { ErrorMessage, Loading } from "../../components/ErrorMessage";
import { formatDateTime } from "../../i18n/format";
import { useCredits } from "./api";

export default function MyCredits() {
  const { t, i18n } = useTranslation("lecture");
  const credits = useCredits();
  if (credits.isPending) return <Loading />;
  if (credits.error) return <ErrorMessage error={credits.error} onRetry={() => void credits.refetch()} />;
  const items = credits.data.items;
  const total = items.reduce((sum, c) => sum + c.credit, 0);
  return (
    <div className="page lecture-credits">
      <h1>{t("credits.title")}</h1>
      {items.length === 0 ? (
        <p className="muted">{t("credits.none")}</p>
      ) : (
        <>
          <p data-testid="credit-total">{t("credits.total", { total })}</p>
          <table>
            <thead>
              <tr>
                <th>{t("credits.lecture")}</th>
                <th>{t("credits.credit")}</th>
                <th>{t("credits.awarded")}</th>
              </tr>
            </thead>
            <tbody>
              {items.map((c) => (
                <tr key={c.lecture_id}>
                  <td>
                    <Link to={`/lectures/${c.lecture_id}`}>{c.title}</Link>
                  </td>
                  <td>{c.credit}</td>
                  <td>{formatDateTime(c.awarded_at, i18n.language)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
}
