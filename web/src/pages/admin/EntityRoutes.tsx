// The routes every admin tab has: its list at the index, and one editor that creates (new) or edits (:id) an
// entity. A save goes back to the list with the saved entity's name, which the list then announces.
import type { UseQueryResult } from "@tanstack/react-query";
import type { ReactElement, ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { Route, Routes, useLocation, useNavigate, useParams } from "react-router-dom";

import { ErrorMessage, Loading } from "../../components/ErrorMessage";
import { useSave, type Bodies, type Collection, type Saved } from "./adminApi";

export function EntityRoutes({ list, editor }: { list: ReactElement; editor: ReactElement }) {
  return (
    <Routes>
      <Route index element={list} />
      <Route path="new" element={editor} />
      <Route path=":id" element={editor} />
    </Routes>
  );
}

export function SavedNotice() {
  const { t } = useTranslation("admin");
  const saved = (useLocation().state as { saved?: string } | null)?.saved;
  return saved ? (
    <p role="status" className="success">
      {t("saved", { name: saved })}
    </p>
  ) : null;
}

/** A list's heading with its New button, and the notice of what was just saved. */
export function EntityList({
  headingId,
  title,
  newLabel,
  children,
}: {
  headingId: string;
  title: string;
  newLabel: string;
  children: ReactNode;
}) {
  const navigate = useNavigate();
  return (
    <section aria-labelledby={headingId}>
      <div className="row between">
        <h2 id={headingId}>{title}</h2>
        <button type="button" className="primary" onClick={() => navigate("new")}>
          {newLabel}
        </button>
      </div>
      <SavedNotice />
      {children}
    </section>
  );
}

/**
 * The editor route: waits for the entity (when editing) and for what the form chooses among (`needs`), says so if
 * either failed or the id names nothing, then renders the form under its heading. `form` gets the entity (none when
 * creating) and the save to call with the body; `savedName` names what was saved for the list's notice.
 */
export function EntityEditor<C extends Collection>({
  collection,
  entities,
  needs,
  heading,
  savedName,
  form,
}: {
  collection: C;
  entities: UseQueryResult<Saved[C][]>;
  needs?: UseQueryResult<unknown>;
  heading: (entity: Saved[C] | undefined) => string;
  savedName: (body: Bodies[C], response: Saved[C], entity: Saved[C] | undefined) => string;
  form: (entity: Saved[C] | undefined, onSave: (body: Bodies[C]) => Promise<void>) => ReactNode;
}) {
  const { t } = useTranslation("admin");
  const { id } = useParams();
  const navigate = useNavigate();
  const save = useSave(collection);
  if ((id && entities.isLoading) || needs?.isLoading) return <Loading />;
  const loadError = (id ? entities.error : null) ?? needs?.error;
  if (loadError) return <ErrorMessage error={loadError} />;
  const entity = id ? entities.data?.find((e) => e.id === id) : undefined;
  if (id && !entity) return <p role="alert" className="error">{t("notFound")}</p>;
  return (
    <section>
      <h2>{heading(entity)}</h2>
      {form(entity, async (body) => {
        const response = await save.mutateAsync({ id: entity?.id, body });
        navigate("..", { state: { saved: savedName(body, response, entity) } });
      })}
    </section>
  );
}

/** A tab's table: loading, the load and save errors, the column headers, an actions column; rows come from the tab. */
export function EntityTable<T>({
  query,
  saveError,
  columns,
  rows,
}: {
  query: UseQueryResult<T[]>;
  saveError?: unknown;
  columns: string[];
  rows: (data: T[]) => ReactNode;
}) {
  const { t } = useTranslation("admin");
  return (
    <>
      {query.isLoading && <Loading />}
      <ErrorMessage error={query.error} onRetry={() => void query.refetch()} />
      <ErrorMessage error={saveError} />
      {query.data && (
        <table className="responsive">
          <thead>
            <tr>
              {columns.map((column) => (
                <th key={column} scope="col">
                  {column}
                </th>
              ))}
              <th scope="col">
                <span className="visually-hidden">{t("actions")}</span>
              </th>
            </tr>
          </thead>
          <tbody>{rows(query.data)}</tbody>
        </table>
      )}
    </>
  );
}
