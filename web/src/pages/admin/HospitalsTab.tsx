// Hospitals of the alliance: list, create, edit. Hospitals are never deleted (cases and agreements point at them).
import { zodResolver } from "@hookform/resolvers/zod";
import { useState } from "react";
import { useForm } from "react-hook-form";
import { useTranslation } from "react-i18next";
import { Link, Route, Routes, useLocation, useNavigate, useParams } from "react-router-dom";

import { ErrorMessage, Loading } from "../../components/ErrorMessage";
import { HOSPITAL_LEVELS, showServerErrors, useAdminHospitals, useSave, type AdminHospital, type FieldProblem } from "./adminApi";
import { Field, ProblemList } from "./formParts";
import { hospitalBody, hospitalDefaults, hospitalSchema, type HospitalForm } from "./schemas";

export function SavedNotice() {
  const { t } = useTranslation("admin");
  const saved = (useLocation().state as { saved?: string } | null)?.saved;
  return saved ? (
    <p role="status" className="success">
      {t("saved", { name: saved })}
    </p>
  ) : null;
}

function HospitalList() {
  const { t } = useTranslation("admin");
  const navigate = useNavigate();
  const hospitals = useAdminHospitals();
  return (
    <section aria-labelledby="hospitals-heading">
      <div className="row between">
        <h2 id="hospitals-heading">{t("tabs.hospitals")}</h2>
        <button type="button" className="primary" onClick={() => navigate("new")}>
          {t("hospital.new")}
        </button>
      </div>
      <SavedNotice />
      {hospitals.isLoading && <Loading />}
      <ErrorMessage error={hospitals.error} onRetry={() => void hospitals.refetch()} />
      {hospitals.data && (
        <table className="responsive">
          <thead>
            <tr>
              <th scope="col">{t("hospital.name")}</th>
              <th scope="col">{t("hospital.id")}</th>
              <th scope="col">{t("hospital.level")}</th>
              <th scope="col">{t("hospital.issuer")}</th>
              <th scope="col">
                <span className="visually-hidden">{t("actions")}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {hospitals.data.map((h) => (
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
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

const FIELDS = ["id", "name", "level", "patient_id_issuer"] as const;

export function HospitalEditorForm({
  hospital,
  onSave,
}: {
  hospital?: AdminHospital;
  onSave: (body: Record<string, unknown>) => Promise<unknown>;
}) {
  const { t } = useTranslation("admin");
  const creating = !hospital;
  const [failure, setFailure] = useState<{ error: unknown; unplaced: FieldProblem[] } | null>(null);
  const form = useForm<HospitalForm>({ resolver: zodResolver(hospitalSchema), defaultValues: hospitalDefaults(hospital) });
  const { register, formState } = form;
  const submit = form.handleSubmit(async (values) => {
    setFailure(null);
    try {
      await onSave(hospitalBody(values, creating));
    } catch (error) {
      setFailure({ error, unplaced: showServerErrors(error, form.setError, FIELDS) });
    }
  });
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
      {failure && <ErrorMessage error={failure.error} />}
      {failure && <ProblemList problems={failure.unplaced} />}
      <FormButtons pending={formState.isSubmitting} />
    </form>
  );
}

export function FormButtons({ pending }: { pending: boolean }) {
  const { t } = useTranslation("admin");
  const navigate = useNavigate();
  return (
    <div className="row">
      <button type="submit" className="primary" disabled={pending}>
        {pending ? t("saving") : t("common:action.save")}
      </button>
      <button type="button" onClick={() => navigate("..")}>
        {t("common:action.cancel")}
      </button>
    </div>
  );
}

function HospitalEditor() {
  const { t } = useTranslation("admin");
  const { id } = useParams();
  const navigate = useNavigate();
  const hospitals = useAdminHospitals();
  const save = useSave<Record<string, unknown>>("hospitals");
  if (id && hospitals.isLoading) return <Loading />;
  if (id && hospitals.error) return <ErrorMessage error={hospitals.error} />;
  const hospital = id ? hospitals.data?.find((h) => h.id === id) : undefined;
  if (id && !hospital) return <p role="alert" className="error">{t("notFound")}</p>;
  return (
    <section>
      <h2>{hospital ? t("hospital.edit", { name: hospital.name }) : t("hospital.new")}</h2>
      <HospitalEditorForm
        key={hospital?.id ?? "new"}
        hospital={hospital}
        onSave={async (body) => {
          await save.mutateAsync({ id: hospital?.id, body });
          navigate("..", { state: { saved: String(body.name) } });
        }}
      />
    </section>
  );
}

export default function HospitalsTab() {
  return (
    <Routes>
      <Route index element={<HospitalList />} />
      <Route path="new" element={<HospitalEditor />} />
      <Route path=":id" element={<HospitalEditor />} />
    </Routes>
  );
}
