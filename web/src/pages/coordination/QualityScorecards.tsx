// Image quality scorecards (影像质控): per sending hospital, the share of good images (甲片, or CT/MR grade 3) month by
// month against the target, as small SVG bar charts, with the trend and the most frequent defect reasons.
import { useQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";

import { api, ok } from "../../api/client";
import { ErrorMessage } from "../../components/ErrorMessage";

const W = 160;
const H = 48;

function ShareBars({ months, target }: { months: { month: string; share: number }[]; target: number }) {
  const step = months.length ? W / months.length : W;
  return (
    <svg width={W} height={H} viewBox={`0 0 ${W} ${H}`} role="img" aria-hidden="true" className="quality-bars">
      {months.map((m, i) => {
        const h = Math.max(1, m.share * H);
        return (
          <rect key={m.month} x={i * step + 2} y={H - h} width={Math.max(2, step - 4)} height={h}
            className={m.share >= target ? "bar-ok" : "bar-low"} fill={m.share >= target ? "#2e7d32" : "#c62828"} />
        );
      })}
      <line x1={0} x2={W} y1={H - target * H} y2={H - target * H} stroke="#555" strokeDasharray="4 2" />
    </svg>
  );
}

export function QualityScorecards({ nameOf }: { nameOf: (id: string) => string }) {
  const { t } = useTranslation("coordination");
  const query = useQuery({
    queryKey: ["quality", "scorecards"],
    queryFn: () => ok(api.GET("/api/quality/scorecards", { params: { query: { by: "hospital" } } })),
  });
  const pct = (x: number) => `${Math.round(x * 100)}%`;
  return (
    <section className="card" aria-labelledby="quality-heading">
      <h2 id="quality-heading">{t("quality.title")}</h2>
      <ErrorMessage error={query.error} />
      {query.data && query.data.items.length === 0 && <p className="muted">{t("quality.none")}</p>}
      {query.data && query.data.items.length > 0 && (
        <table className="quality-scorecards">
          <thead>
            <tr>
              <th>{t("quality.hospital")}</th>
              <th>{t("quality.months", { target: pct(query.data.target) })}</th>
              <th>{t("quality.latest")}</th>
              <th>{t("quality.trend")}</th>
              <th>{t("quality.reasons")}</th>
            </tr>
          </thead>
          <tbody>
            {query.data.items.map((card) => (
              <tr key={card.subject} data-testid={`quality-${card.subject}`}>
                <td>{nameOf(card.subject)}</td>
                <td>
                  <ShareBars months={card.months} target={query.data.target} />
                </td>
                <td className={card.meets_target ? "ok" : "warn"}>
                  {pct(card.latest_share)} {card.meets_target ? t("quality.meets") : t("quality.below")}
                </td>
                <td>{`${card.trend >= 0 ? "+" : ""}${Math.round(card.trend * 100)}`}</td>
                <td>
                  {card.top_reasons
                    .map((r) => `${t(`quality.reason.${r.reason}`, { defaultValue: r.reason })} ×${r.count}`)
                    .join(", ")}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
