// Agreements between a requesting and a reading hospital: list, create, edit terms, deactivate.
// Agreements are never deleted (cases point at them): deactivation stops new cases under one.
import { useTranslation } from "react-i18next";
import { Link } from "react-router-dom";

import { useAdminAgreements, useAdminHospitals, useSave } from "./adminApi";
import { AgreementForm } from "./AgreementForm";
import { EntityEditor, EntityList, EntityRoutes, EntityTable } from "./EntityRoutes";
import { ActiveBadge, ActiveToggle } from "./formParts";
import { agreementTerms } from "./schemas";

function AgreementList() {
  const { t } = useTranslation("admin");
  const agreements = useAdminAgreements();
  const hospitals = useAdminHospitals();
  const save = useSave("agreements");
  const nameOf = (id: string) => hospitals.data?.find((h) => h.id === id)?.name ?? id;
  return (
    <EntityList headingId="agreements-heading" title={t("tabs.agreements")} newLabel={t("agreement.new")}>
      <EntityTable
        query={agreements}
        saveError={save.error}
        columns={[t("agreement.id"), t("agreement.requesting"), t("agreement.reading"), t("agreement.mode"), t("agreement.slaShort"), t("agreement.secondReading"), t("status")]}
        rows={(data) =>
          data.map((a) => (
            <tr key={a.id} className={a.active ? "" : "inactive"}>
              <td data-label={t("agreement.id")}>
                <code>{a.id}</code>
              </td>
              <td data-label={t("agreement.requesting")}>{nameOf(a.requesting_hospital_id)}</td>
              <td data-label={t("agreement.reading")}>{nameOf(a.reading_hospital_id)}</td>
              <td data-label={t("agreement.mode")}>{t(`mode.${a.service_mode}`)}</td>
              <td data-label={t("agreement.slaShort")}>
                {a.sla.stat_minutes} / {a.sla.urgent_minutes} / {a.sla.routine_minutes}
              </td>
              <td data-label={t("agreement.secondReading")}>{t(`secondReading.${a.second_reading}`)}</td>
              <td data-label={t("status")}>
                <ActiveBadge active={a.active} />
              </td>
              <td className="row">
                <Link to={a.id} aria-label={t("editNamed", { name: a.id })}>
                  {t("common:action.edit")}
                </Link>
                <ActiveToggle
                  active={a.active}
                  question={t("agreement.confirmDeactivate", { id: a.id })}
                  pending={save.isPending}
                  onChange={(active) => save.mutate({ id: a.id, body: { ...agreementTerms(a), active } })}
                />
              </td>
            </tr>
          ))
        }
      />
      <p className="muted small">{t("agreement.slaLegend")}</p>
    </EntityList>
  );
}

function AgreementEditor() {
  const { t } = useTranslation("admin");
  const hospitals = useAdminHospitals();
  const agreements = useAdminAgreements();
  return (
    <EntityEditor
      collection="agreements"
      entities={agreements}
      needs={hospitals}
      heading={(agreement) => (agreement ? t("agreement.edit", { id: agreement.id }) : t("agreement.new"))}
      savedName={(_body, response) => response.id}
      form={(agreement, onSave) => (
        <AgreementForm key={agreement?.id ?? "new"} agreement={agreement} hospitals={hospitals.data ?? []} onSave={onSave} />
      )}
    />
  );
}

export default function AgreementsTab() {
  return <EntityRoutes list={<AgreementList />} editor={<AgreementEditor />} />;
}
