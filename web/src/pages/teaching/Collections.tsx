// Collections (/teaching/collections, /teaching/collections/:id): playlists of cases by educators, e.g.
// "胸部CT结节 10例". Everyone reads them (a learner sees the published cases in them); their owner edits the list.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router-dom";

import { api, ok } from "../../api/client";
import { useSession } from "../../auth/session";
import { ErrorMessage, Loading } from "../../components/ErrorMessage";
import { CaseCard } from "./Library";
import { useLibrary } from "./api";

function NewCollection() {
  const { t } = useTranslation("teaching");
  const client = useQueryClient();
  const [title, setTitle] = useState("");
  const [description, setDescription] = useState("");
  const create = useMutation({
    mutationFn: () => ok(api.POST("/api/teaching/collections", { body: { title, description } })),
    onSuccess: () => {
      setTitle("");
      setDescription("");
      void client.invalidateQueries({ queryKey: ["teaching-collections"] });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (title.trim()) create.mutate();
  };
  return (
    <form className="card" onSubmit={submit} aria-label={t("collections.new")}>
      <h2 className="h4">{t("collections.new")}</h2>
      <label>
        {t("collections.name")}
        <input name="title" value={title} onChange={(e) => setTitle(e.target.value)} maxLength={200} required />
      </label>
      <label>
        {t("collections.description")}
        <input name="description" value={description} onChange={(e) => setDescription(e.target.value)} maxLength={4000} />
      </label>
      <ErrorMessage error={create.error} />
      <button type="submit" className="primary" disabled={!title.trim() || create.isPending}>
        {t("collections.create")}
      </button>
    </form>
  );
}

export function CollectionList() {
  const { t } = useTranslation("teaching");
  const { me } = useSession();
  const list = useQuery({
    queryKey: ["teaching-collections"],
    queryFn: () => ok(api.GET("/api/teaching/collections", { params: { query: { limit: 100 } } })),
  });
  return (
    <section aria-labelledby="collections-title">
      <h1 id="collections-title">{t("collections.title")}</h1>
      <p className="muted">{t("collections.intro")}</p>
      {me?.role === "educator" && <NewCollection />}
      {list.isPending ? (
        <Loading />
      ) : list.error ? (
        <ErrorMessage error={list.error} onRetry={() => void list.refetch()} />
      ) : list.data.items.length === 0 ? (
        <p className="muted">{t("collections.empty")}</p>
      ) : (
        <ul className="teaching-cards">
          {list.data.items.map((c) => (
            <li key={c.id} className="card">
              <h2 className="h3">
                <Link to={`/teaching/collections/${c.id}`}>{c.title}</Link>
              </h2>
              <p className="muted small">
                {t("collections.cases", { count: c.cases })} · {t("collections.by", { name: c.owner_name })}
              </p>
              {c.description && <p>{c.description}</p>}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

export function CollectionPage() {
  const { id = "" } = useParams();
  const { t } = useTranslation("teaching");
  const { me } = useSession();
  const client = useQueryClient();
  const [adding, setAdding] = useState("");
  const found = useQuery({
    queryKey: ["teaching-collection", id],
    queryFn: () => ok(api.GET("/api/teaching/collections/{collection_id}", { params: { path: { collection_id: id } } })),
  });
  const owner = found.data?.owner_id === me?.id;
  const library = useLibrary({ state: owner ? "published" : undefined });
  const save = useMutation({
    mutationFn: (caseIds: string[]) =>
      ok(
        api.PUT("/api/teaching/collections/{collection_id}/cases", {
          params: { path: { collection_id: id } },
          body: { case_ids: caseIds },
        }),
      ),
    onSuccess: (data) => client.setQueryData(["teaching-collection", id], data),
  });
  if (found.isPending) return <Loading />;
  if (found.error) return <ErrorMessage error={found.error} onRetry={() => void found.refetch()} />;
  const c = found.data;
  const ids = c.items.map((i) => i.id);
  const candidates = (library.data?.items ?? []).filter((i) => !ids.includes(i.id));
  return (
    <section aria-labelledby="collection-title">
      <div className="row between">
        <h1 id="collection-title">{c.title}</h1>
        <Link to="/teaching/collections">{t("collections.back")}</Link>
      </div>
      <p className="muted">
        {c.description} · {t("collections.by", { name: c.owner_name })}
      </p>
      <ol className="teaching-cards">
        {c.items.map((item) => (
          <div key={item.id}>
            <CaseCard item={item} educator={me?.role === "educator"} />
            {owner && (
              <button type="button" className="link small" onClick={() => save.mutate(ids.filter((x) => x !== item.id))}>
                {t("collections.remove")}
              </button>
            )}
          </div>
        ))}
      </ol>
      {owner && (
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            if (adding) save.mutate([...ids, adding]);
            setAdding("");
          }}
        >
          <label>
            {t("collections.add")}
            <select name="case" value={adding} onChange={(e) => setAdding(e.target.value)}>
              <option value="">—</option>
              {candidates.map((i) => (
                <option key={i.id} value={i.id}>
                  {i.curation.title}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" disabled={!adding || save.isPending}>
            {t("collections.addButton")}
          </button>
        </form>
      )}
      <ErrorMessage error={save.error} />
    </section>
  );
}
