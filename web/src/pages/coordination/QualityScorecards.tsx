// Image quality scorecards (影像质控): per sending hospital, and per technician of each hospital, the share of good
// images (甲片, or CT/MR grade 3) month by month against the target, as small SVG bar charts, with the trend and the
// most frequent defect reasons.
import { useQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";

import { api, ok } from "../../api/client";
import { ErrorMessage } from "../../components/ErrorMessage";

const W = 160;
const H = 48;

type By = "hospital" | "technician";

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

function ScorecardTable({ by, nameOf }: { by: By; nameOf: (id: string) => string }) {
  const { t } = useTranslation("coordination");
  const query = useQuery({
    queryKey: ["quality", "scorecards", by],
    queryFn: () => ok(api.GET("/api/quality/scorecards", { params: { query: { by } } })),
  });
  const pct = (x: number) => `${Math.round(x * 100)}%`;
  // A technician's subject is "<hospital id> / <Operators' Name>"; a study without one has an empty name.
  const label = (subject: string) => {
    if (by === "hospital") return nameOf(subject);
    const [hospital, ...rest] = subject.split(" / ");
    const technician = rest.join(" / ").trim();
    return `${nameOf(hospital)} / ${technician || t("quality.noTechnician")}`;
  };
  return (
    <>
      <ErrorMessage error={query.error} />
      {query.data && query.data.items.length === 0 && by === "hospital" && <p className="muted">{t("quality.none")}</p>}
      {query.data && query.data.items.length > 0 && (
        <div className="table-scroll">
          <table className="quality-scorecards" data-testid={`quality-by-${by}`}>
            <thead>
              <tr>
                <th>{t(by === "hospital" ? "quality.hospital" : "quality.technician")}</th>
                <th>{t("quality.months", { target: pct(query.data.target) })}</th>
                <th>{t("quality.latest")}</th>
                <th>{t("quality.trend")}</th>
                <th>{t("quality.reasons")}</th>
              </tr>
            </thead>
            <tbody>
              {query.data.items.map((card) => (
                <tr key={card.subject} data-testid={`quality-${card.subject}`}>
                  <td>{label(card.subject)}</td>
                  <td>
                    <ShareBars months={card.months} target={query.data.target} />
                  </td>
                  <td className={card.meets_target ? "ok" : "warn"}>
                    {pct(card.latest_share)} {card.meets_target ? t("quality.meets") : t("quality.below")}
                  </td>
                  <td>{`${card.trend >= 0 ? "+" : ""}${Math.round(card.trend * 100)}`}</td>
                  <td>
                    {card.top_reasons
                      .map((r) => `${t(`common:defect.${r.reason}`, { defaultValue: r.reason })} ×${r.count}`)
                      .join(t("common:listSeparator"))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

export function QualityScorecards({ nameOf }: { nameOf: (id: string) => string }) {
  const { t } = useTranslation("coordination");
  return (
    <section className="card" aria-labelledby="quality-heading">
      <h2 id="quality-heading">{t("quality.title")}</h2>
      <ScorecardTable by="hospital" nameOf={nameOf} />
      <h3>{t("quality.byTechnician")}</h3>
      <ScorecardTable by="technician" nameOf={nameOf} />
    </section>
  );
}
