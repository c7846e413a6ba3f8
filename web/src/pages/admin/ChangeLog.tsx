// The change log: every admin change, newest first, with who made it and what it changed.
import { useState } from "react";
import { useTranslation } from "react-i18next";

import { ErrorMessage, Loading } from "../../components/ErrorMessage";
import { useFormatDate } from "../../i18n/format";
import { useAdminChanges, useAdminUsers, type AdminChange, type AdminEntity } from "./adminApi";
import { diffChange, showValue } from "./changeDiff";
import { FilterSelect } from "./formParts";

export function ChangeDiff({ change }: { change: AdminChange }) {
  const { t } = useTranslation("admin");
  if (change.action === "password") return <span className="muted">{t("changes.passwordChanged")}</span>;
  const lines = diffChange(change.before, change.after);
  if (lines.length === 0) return <span className="muted">{t("changes.noDifference")}</span>;
  const creating = change.before === null;
  return (
    <table className="diff small">
      <thead>
        <tr>
          <th scope="col">{t("changes.field")}</th>
          {!creating && <th scope="col">{t("changes.before")}</th>}
          <th scope="col">{creating ? t("changes.value") : t("changes.after")}</th>
        </tr>
      </thead>
      <tbody>
        {lines.map((line) => (
          <tr key={line.path}>
            <th scope="row">
              <code>{line.path}</code>
            </th>
            {!creating && <td className="diff-before">{showValue(line.before)}</td>}
            <td className="diff-after">{showValue(line.after)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export default function ChangeLog() {
  const { t } = useTranslation("admin");
  const when = useFormatDate();
  const [entity, setEntity] = useState<AdminEntity | "">("");
  const changes = useAdminChanges(entity);
  const users = useAdminUsers();
  const who = (id: string) => users.data?.find((u) => u.id === id)?.display_name ?? id;
  return (
    <section aria-labelledby="changes-heading">
      <h2 id="changes-heading">{t("tabs.changes")}</h2>
      <div className="filters">
        <FilterSelect label={t("changes.entity")} value={entity} onChange={(v) => setEntity(v as AdminEntity | "")}>
          <option value="">{t("all")}</option>
          {(["hospital", "agreement", "user", "in_house_reading"] as const).map((e) => (
            <option key={e} value={e}>
              {t(`changes.entities.${e}`)}
            </option>
          ))}
        </FilterSelect>
      </div>
      {changes.isLoading && <Loading />}
      <ErrorMessage error={changes.error} onRetry={() => void changes.refetch()} />
      {changes.data?.length === 0 && <p className="muted">{t("changes.none")}</p>}
      {!!changes.data?.length && (
        <table className="responsive change-log">
          <thead>
            <tr>
              <th scope="col">{t("changes.when")}</th>
              <th scope="col">{t("changes.who")}</th>
              <th scope="col">{t("changes.what")}</th>
              <th scope="col">{t("changes.diff")}</th>
            </tr>
          </thead>
          <tbody>
            {changes.data.map((c) => (
              <tr key={c.id}>
                <td data-label={t("changes.when")}>{when(c.at, "dateTimeSeconds")}</td>
                <td data-label={t("changes.who")}>{who(c.actor_id)}</td>
                <td data-label={t("changes.what")}>
                  {t(`changes.actions.${c.action}`)} {t(`changes.entities.${c.entity}`)} <code>{c.entity_id}</code>
                </td>
                <td data-label={t("changes.diff")}>
                  <ChangeDiff change={c} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
