// The teaching library (/teaching): every signed-in doctor searches the published cases (educators see every state),
// narrows by facets with their counts, opens a case or tries it as an unknown case.
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router-dom";

import { useSession } from "../../auth/session";
import { ErrorMessage, Loading } from "../../components/ErrorMessage";
import { useLibrary, type LibraryFilter, type TeachingCaseCard } from "./api";

const FACETS = ["modality", "body_part", "difficulty", "tag"] as const;
type Facet = (typeof FACETS)[number];
const FACET_LABEL: Record<Facet, string> = {
  modality: "library.modality",
  body_part: "library.bodyPart",
  difficulty: "library.difficulty",
  tag: "library.tag",
};

export function CaseCard({ item, educator }: { item: TeachingCaseCard; educator: boolean }) {
  const { t } = useTranslation("teaching");
  const c = item.curation;
  return (
    <li className="card teaching-card" data-testid={`teaching-card-${item.id}`}>
      <h2 className="h3">
        <Link to={`/teaching/${item.id}`}>{c.title || item.id}</Link>
      </h2>
      <p className="muted small">
        {c.modality} {c.body_part} · {t(`difficulty.${c.difficulty}`)} · {t(`certainty.${c.certainty}`)}
        {educator && <> · {t(`state.${item.state}`)}</>}
      </p>
      {c.tags.length > 0 && (
        <p className="tags">
          {c.tags.map((tag) => (
            <span key={tag} className="badge">
              {tag}
            </span>
          ))}
        </p>
      )}
      {item.state === "published" && item.study_instance_uid && (
        <Link className="button" to={`/teaching/${item.id}/unknown`}>
          {t("library.unknown")}
        </Link>
      )}
    </li>
  );
}

export default function Library() {
  const { t } = useTranslation("teaching");
  const { me } = useSession();
  const educator = me?.role === "educator";
  const [text, setText] = useState("");
  const [filter, setFilter] = useState<LibraryFilter>({});
  const library = useLibrary(filter);
  const search = (e: FormEvent) => {
    e.preventDefault();
    setFilter({ ...filter, q: text.trim() || undefined });
  };
  const facets = library.data?.facets;
  return (
    <section aria-labelledby="library-title" className="teaching-library">
      <h1 id="library-title">{t("library.title")}</h1>
      <p className="muted">{t("library.intro")}</p>
      <form role="search" onSubmit={search} className="row">
        <label className="grow">
          <span className="visually-hidden">{t("library.search")}</span>
          <input
            type="search"
            value={text}
            placeholder={t("library.search")}
            onChange={(e) => setText(e.target.value)}
            maxLength={200}
          />
        </label>
        <button type="submit" className="primary">
          {t("library.searchButton")}
        </button>
      </form>
      <div className="split">
        <fieldset className="card facets">
          <legend>{t("library.filters")}</legend>
          {FACETS.map((facet) => (
            <label key={facet}>
              {t(FACET_LABEL[facet])}
              <select
                value={filter[facet] ?? ""}
                onChange={(e) => setFilter({ ...filter, [facet]: e.target.value || undefined })}
              >
                <option value="">{t("library.any")}</option>
                {Object.entries(facets?.[facet] ?? {}).map(([value, count]) => (
                  <option key={value} value={value}>
                    {facet === "difficulty" ? t(`difficulty.${value}`) : value} ({count})
                  </option>
                ))}
              </select>
            </label>
          ))}
          {educator && (
            <label>
              {t("library.state")}
              <select
                value={filter.state ?? ""}
                onChange={(e) => setFilter({ ...filter, state: (e.target.value || undefined) as LibraryFilter["state"] })}
              >
                <option value="">{t("library.any")}</option>
                {(["nominated", "deidentifying", "in_review", "published", "unpublished", "dismissed"] as const).map((s) => (
                  <option key={s} value={s}>
                    {t(`state.${s}`)}
                  </option>
                ))}
              </select>
            </label>
          )}
        </fieldset>
        <div>
          {library.isPending ? (
            <Loading />
          ) : library.error ? (
            <ErrorMessage error={library.error} onRetry={() => void library.refetch()} />
          ) : library.data.items.length === 0 ? (
            <p role="status" className="muted">
              {t("library.empty")}
            </p>
          ) : (
            <>
              <p role="status" className="muted small">
                {t("library.count", { count: library.data.items.length })}
              </p>
              <ul className="teaching-cards">
                {library.data.items.map((item) => (
                  <CaseCard key={item.id} item={item} educator={educator} />
                ))}
              </ul>
            </>
          )}
        </div>
      </div>
    </section>
  );
}
