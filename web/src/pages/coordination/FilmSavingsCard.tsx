// What cloud film saved (云胶片): per hospital the coordinator oversees, month by month, the studies delivered to
// patients as cloud film instead of printed film, and the repeat examinations avoided (检查结果互认), as small SVG bars.
import { useQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";

import { api, ok } from "../../api/client";
import type { FilmSavingsMonth } from "../../api/generated/schema";
import { ErrorMessage } from "../../components/ErrorMessage";

const W = 168;
const H = 48;
const FILM = "#1565c0";
const REPEAT = "#2e7d32";

export function SavingsBars({ months }: { months: FilmSavingsMonth[] }) {
  const top = Math.max(1, ...months.map((m) => Math.max(m.films_not_printed, m.repeats_avoided)));
  const step = months.length ? W / months.length : W;
  const bar = Math.max(2, step / 2 - 2);
  return (
    <svg width={W} height={H} viewBox={`0 0 ${W} ${H}`} role="img" aria-hidden="true" className="film-savings-bars">
      {months.map((m, i) => {
        const film = (m.films_not_printed / top) * H;
        const repeat = (m.repeats_avoided / top) * H;
        return (
          <g key={m.month}>
            <rect x={i * step + 1} y={H - film} width={bar} height={film} fill={FILM} className="bar-film" />
            <rect x={i * step + 1 + bar} y={H - repeat} width={bar} height={repeat} fill={REPEAT} className="bar-repeat" />
          </g>
        );
      })}
      <line x1={0} x2={W} y1={H - 0.5} y2={H - 0.5} stroke="#999" />
    </svg>
  );
}

export function FilmSavingsCard({ nameOf }: { nameOf: (id: string) => string }) {
  const { t } = useTranslation("coordination");
  const query = useQuery({
    queryKey: ["dashboard", "film-savings"],
    queryFn: () => ok(api.GET("/api/film-savings", { params: { query: { months: 6 } } })),
  });
  const items = query.data?.items ?? [];
  return (
    <section className="card" aria-labelledby="film-savings-heading">
      <h2 id="film-savings-heading">{t("filmSavings.title")}</h2>
      <p className="muted small">
        {t("filmSavings.explain", { days: query.data?.repeat_window_days ?? 30 })}
      </p>
      <ErrorMessage error={query.error} />
      {query.data && (
        <table className="film-savings">
          <thead>
            <tr>
              <th>{t("filmSavings.hospital")}</th>
              <th>
                {t("filmSavings.months")}{" "}
                <span style={{ color: FILM }}>■ {t("filmSavings.films")}</span>{" "}
                <span style={{ color: REPEAT }}>■ {t("filmSavings.repeats")}</span>
              </th>
              <th>{t("filmSavings.films")}</th>
              <th>{t("filmSavings.repeats")}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((h) => (
              <tr key={h.hospital_id} data-testid={`film-savings-${h.hospital_id}`}>
                <td>{nameOf(h.hospital_id)}</td>
                <td>
                  <SavingsBars months={h.months} />
                </td>
                <td data-testid="films-not-printed">{h.films_not_printed}</td>
                <td data-testid="repeats-avoided">{h.repeats_avoided}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
