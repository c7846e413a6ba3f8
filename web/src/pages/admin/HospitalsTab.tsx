// Hospitals of the alliance: list, create, edit (with the hospital's in-house reading policy). Hospitals are never
// deleted (cases and agreements point at them).
import { zodResolver } from "@hookform/resolvers/zod";
import { useForm } from "react-hook-form";
import { useTranslation } from "react-i18next";
import { Link } from "react-router-dom";

import type { NewHospital } from "../../api/generated/schema";
import { HOSPITAL_LEVELS, useAdminHospitals, type AdminHospital } from "./adminApi";
import { EntityEditor, EntityList, EntityRoutes, EntityTable } from "./EntityRoutes";
import { Field, FormButtons, SaveFailureNotice, useSaveSubmit } from "./formParts";
import InHouseReadingSection from "./InHouseReading";
import { hospitalBody, hospitalDefaults, hospitalSchema, type HospitalForm } from "./schemas";

function HospitalList() {
  const { t } = useTranslation("admin");
  const hospitals = useAdminHospitals();
  return (
    <EntityList headingId="hospitals-heading" title={t("tabs.hospitals")} newLabel={t("hospital.new")}>
      <EntityTable
        query={hospitals}
        columns={[t("hospital.name"), t("hospital.id"), t("hospital.level"), t("hospital.issuer")]}
        rows={(data) =>
          data.map((h) => (
            <tr key={h.id}>
              <td data-label={t("hospital.name")}>{h.name}</td>
              <td data-label={t("hospital.id")}>
                <code>{h.id}</code>
              </td>
              <td data-label={t("hospital.level")}>{t(`level.${h.level}`)}</td>
              <td data-label={t("hospital.issuer")}>{h.patient_id_issuer}</td>
              <td>
                <Link to={h.id} aria-label={t("editNamed", { name: h.name })}>
                  {t("common:action.edit")}
                </Link>
              </td>
            </tr>
          ))
        }
      />
    </EntityList>
  );
}

const FIELDS = ["id", "name", "level", "patient_id_issuer"] as const;

export function HospitalEditorForm({
  hospital,
  onSave,
}: {
  hospital?: AdminHospital;
  onSave: (body: NewHospital) => Promise<unknown>;
}) {
  const { t } = useTranslation("admin");
  const creating = !hospital;
  const form = useForm<HospitalForm>({ resolver: zodResolver(hospitalSchema), defaultValues: hospitalDefaults(hospital) });
  const { register, formState } = form;
  const { submit, failure } = useSaveSubmit(form, (values) => onSave(hospitalBody(values, creating)), FIELDS);
  return (
    <form onSubmit={submit} noValidate className="card admin-form">
      {creating && (
        <Field label={t("hospital.idOptional")} hint={t("hint.id")} error={formState.errors.id}>
          {(aria) => <input {...aria} {...register("id")} autoComplete="off" />}
        </Field>
      )}
      <Field label={t("hospital.name")} error={formState.errors.name}>
        {(aria) => <input {...aria} {...register("name")} />}
      </Field>
      <Field label={t("hospital.level")} hint={t("hint.level")} error={formState.errors.level}>
        {(aria) => (
          <select {...aria} {...register("level")}>
            {HOSPITAL_LEVELS.map((l) => (
              <option key={l} value={l}>
                {t(`level.${l}`)}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label={t("hospital.issuer")} hint={t("hint.issuer")} error={formState.errors.patient_id_issuer}>
        {(aria) => <input {...aria} {...register("patient_id_issuer")} />}
      </Field>
      <SaveFailureNotice failure={failure} />
      <FormButtons pending={formState.isSubmitting} />
    </form>
  );
}

function HospitalEditor() {
  const { t } = useTranslation("admin");
  const hospitals = useAdminHospitals();
  return (
    <EntityEditor
      collection="hospitals"
      entities={hospitals}
      heading={(hospital) => (hospital ? t("hospital.edit", { name: hospital.name }) : t("hospital.new"))}
      savedName={(body) => body.name}
      form={(hospital, onSave) => (
        <>
          <HospitalEditorForm key={hospital?.id ?? "new"} hospital={hospital} onSave={onSave} />
          {hospital && <InHouseReadingSection hospital={hospital} />}
        </>
      )}
    />
  );
}

export default function HospitalsTab() {
  return <EntityRoutes list={<HospitalList />} editor={<HospitalEditor />} />;
}
