// Report search: words (zh, en, abbreviations; synonyms found by the server) with suggestions as you type,
// present mentions by default with a switch for negated/uncertain ones, facets with counts, highlighted results
// that open the case. What a person finds is what the worklist's access rule lets them see (the server's filter).
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link, useSearchParams } from "react-router-dom";

import { api, ok } from "../../api/client";
import { facetValues, type Facet, type FacetCount, type ReportHit } from "../../api/generated/schema";
import { ErrorMessage, Loading } from "../../components/ErrorMessage";
import { formatDateTime } from "../../i18n/format";
import { Fragments } from "./Highlight";

const PAGE = 20;

function useSuggestions(prefix: string) {
  return useQuery({
    queryKey: ["search-suggestions", prefix],
    queryFn: () => ok(api.GET("/api/search/suggestions", { params: { query: { prefix, limit: 8 } } })),
    enabled: prefix.trim().length > 0,
    staleTime: 60_000,
  });
}

/** The last word being typed: what the suggestions complete. */
function lastWord(text: string): string {
  const parts = text.split(/\s+/);
  return parts[parts.length - 1] ?? "";
}

function FacetBox({
  facet, values, chosen, toggle,
}: { facet: Facet; values: FacetCount[]; chosen: string[]; toggle: (value: string) => void }) {
  const { t } = useTranslation("search");
  if (values.length === 0) return null;
  const label = (v: FacetCount) =>
    v.label ?? (facet === "critical" || facet === "discrepancy" ? t(`value.${v.value}`) : v.value);
  return (
    <fieldset className="facet">
      <legend>{t(`facet.${facet}`)}</legend>
      {values.map((v) => (
        <label key={v.value} className="row small">
          <input type="checkbox" checked={chosen.includes(v.value)} onChange={() => toggle(v.value)} />
          <span>{label(v)}</span> <span className="muted">({v.count})</span>
        </label>
      ))}
    </fieldset>
  );
}

function Result({ hit }: { hit: ReportHit }) {
  const { t, i18n } = useTranslation("search");
  return (
    <li className="card search-hit">
      <div className="row between">
        <Link to={`/cases/${hit.referral_id}`} aria-label={t("open", { id: hit.referral_id })}>
          {hit.modality} · {hit.body_part} · {hit.hospital_name}
        </Link>
        <span className="muted small">{t("signed", { date: formatDateTime(hit.signed_at, i18n.language) })}</span>
      </div>
      <div className="muted small">
        {hit.reader_name}
        {hit.critical && <span className="badge critical"> {t("critical")}</span>}
        {hit.has_addendum && <span className="badge"> {t("addendum")}</span>}
      </div>
      {hit.highlights.length > 0 ? <Fragments fragments={hit.highlights} /> : <p>{hit.impression}</p>}
    </li>
  );
}

export default function SearchPage() {
  const { t } = useTranslation("search");
  const [params, setParams] = useSearchParams();
  const q = params.get("q") ?? "";
  const negated = params.get("negated") === "1";
  const sort = params.get("sort") === "date" ? "date" : "relevance";
  const chosen = Object.fromEntries(facetValues.map((f) => [f, params.getAll(f)])) as Record<Facet, string[]>;
  const [typed, setTyped] = useState(q);
  const [limit, setLimit] = useState(PAGE);
  const suggestions = useSuggestions(lastWord(typed));

  const results = useQuery({
    queryKey: ["search", params.toString(), limit],
    queryFn: () =>
      ok(
        api.GET("/api/search", {
          params: { query: { q, include_negated: negated, sort, limit, ...chosen } },
        }),
      ),
    placeholderData: keepPreviousData,
  });

  const update = (change: (next: URLSearchParams) => void) => {
    const next = new URLSearchParams(params);
    change(next);
    setLimit(PAGE);
    setParams(next, { replace: true });
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    update((next) => next.set("q", typed.trim()));
  };
  const complete = (text: string) => {
    const words = typed.split(/\s+/);
    words[words.length - 1] = text;
    const value = words.join(" ");
    setTyped(value);
    update((next) => next.set("q", value.trim()));
  };
  const toggle = (facet: Facet, value: string) =>
    update((next) => {
      const values = next.getAll(facet);
      next.delete(facet);
      (values.includes(value) ? values.filter((v) => v !== value) : [...values, value]).forEach((v) =>
        next.append(facet, v),
      );
    });
  const data = results.data;

  return (
    <div className="search-page">
      <h1>{t("title")}</h1>
      <form className="search-form" role="search" onSubmit={submit}>
        <label htmlFor="search-q" className="visually-hidden">
          {t("query")}
        </label>
        <input
          id="search-q"
          type="search"
          value={typed}
          placeholder={t("placeholder")}
          onChange={(e) => setTyped(e.target.value)}
          autoComplete="off"
        />
        <button type="submit" className="primary">
          {t("submit")}
        </button>
        {typed.trim() && (suggestions.data?.items.length ?? 0) > 0 && (
          <ul className="suggestions" aria-label={t("suggestions")}>
            {suggestions.data?.items.map((s) => (
              <li key={s.text}>
                <button type="button" className="link" onClick={() => complete(s.text)}>
                  {s.text}
                </button>
              </li>
            ))}
          </ul>
        )}
      </form>
      <div className="row filters">
        <label className="row small">
          <input
            type="checkbox"
            checked={negated}
            onChange={(e) => update((next) => (e.target.checked ? next.set("negated", "1") : next.delete("negated")))}
          />
          {t("includeNegated")}
        </label>
        <label className="small">
          {t("sort")}{" "}
          <select
            value={sort}
            onChange={(e) => update((next) => (e.target.value === "date" ? next.set("sort", "date") : next.delete("sort")))}
          >
            <option value="relevance">{t("sortRelevance")}</option>
            <option value="date">{t("sortDate")}</option>
          </select>
        </label>
      </div>
      <ErrorMessage error={results.error} onRetry={() => void results.refetch()} />
      {results.isLoading && <Loading />}
      {data && (
        <div className="split search-split">
          <aside aria-label={t("facet.modality")}>
            {!data.facets_available && (
              <p className="muted small" role="note">
                {t("facetsUnavailable")}
              </p>
            )}
            {facetValues.map((f) => (
              <FacetBox key={f} facet={f} values={data.facets[f] ?? []} chosen={chosen[f]} toggle={(v) => toggle(f, v)} />
            ))}
            {facetValues.some((f) => chosen[f].length > 0) && (
              <button type="button" className="link" onClick={() => update((next) => facetValues.forEach((f) => next.delete(f)))}>
                {t("clear")}
              </button>
            )}
          </aside>
          <section aria-live="polite">
            <p className="muted small" role="status">
              {t("total", { count: data.total })} {t("took", { ms: data.took_ms })}
              {data.slots.length > 0 && (
                <>
                  {" · "}
                  {t("readAs")} {data.slots.map((s) => s.slice(0, 3).join(" / ")).join(" + ")}
                </>
              )}
            </p>
            {data.total === 0 && <p className="muted">{q ? t("none") : t("prompt")}</p>}
            <ol className="search-results">
              {data.items.map((hit) => (
                <Result key={hit.referral_id} hit={hit} />
              ))}
            </ol>
            {data.next_offset !== null && (
              <button type="button" onClick={() => setLimit(limit + PAGE)}>
                {t("more")}
              </button>
            )}
          </section>
        </div>
      )}
    </div>
  );
}
