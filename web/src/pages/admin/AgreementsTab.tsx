// Agreements between a requesting and a reading hospital: list, create, edit terms, deactivate.
// Agreements are never deleted (cases point at them): deactivation stops new cases under one.
import { useTranslation } from "react-i18next";
import { Link, Route, Routes, useNavigate, useParams } from "react-router-dom";

import { ErrorMessage, Loading } from "../../components/ErrorMessage";
import { useAdminAgreements, useAdminHospitals, useSave } from "./adminApi";
import { AgreementForm } from "./AgreementForm";
import { ConfirmButton } from "./formParts";
import { SavedNotice } from "./HospitalsTab";
import { agreementTerms } from "./schemas";

function AgreementList() {
  const { t } = useTranslation("admin");
  const navigate = useNavigate();
  const agreements = useAdminAgreements();
  const hospitals = useAdminHospitals();
  const save = useSave<Record<string, unknown>>("agreements");
  const nameOf = (id: string) => hospitals.data?.find((h) => h.id === id)?.name ?? id;
  return (
    <section aria-labelledby="agreements-heading">
      <div className="row between">
        <h2 id="agreements-heading">{t("tabs.agreements")}</h2>
        <button type="button" className="primary" onClick={() => navigate("new")}>
          {t("agreement.new")}
        </button>
      </div>
      <SavedNotice />
      {agreements.isLoading && <Loading />}
      <ErrorMessage error={agreements.error} onRetry={() => void agreements.refetch()} />
      <ErrorMessage error={save.error} />
      {agreements.data && (
        <table className="responsive">
          <thead>
            <tr>
              <th scope="col">{t("agreement.id")}</th>
              <th scope="col">{t("agreement.requesting")}</th>
              <th scope="col">{t("agreement.reading")}</th>
              <th scope="col">{t("agreement.mode")}</th>
              <th scope="col">{t("agreement.slaShort")}</th>
              <th scope="col">{t("agreement.secondReading")}</th>
              <th scope="col">{t("status")}</th>
              <th scope="col">
                <span className="visually-hidden">{t("actions")}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {agreements.data.map((a) => (
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
                  <span className={`badge ${a.active ? "sla-on_track" : "sla-paused"}`}>{a.active ? t("active") : t("inactive")}</span>
                </td>
                <td className="row">
                  <Link to={a.id} aria-label={t("editNamed", { name: a.id })}>
                    {t("common:action.edit")}
                  </Link>
                  {a.active ? (
                    <ConfirmButton
                      label={t("deactivate")}
                      question={t("agreement.confirmDeactivate", { id: a.id })}
                      confirmLabel={t("confirmDeactivate")}
                      pending={save.isPending}
                      onConfirm={() => save.mutate({ id: a.id, body: { ...agreementTerms(a), active: false } })}
                    />
                  ) : (
                    <button type="button" disabled={save.isPending} onClick={() => save.mutate({ id: a.id, body: { ...agreementTerms(a), active: true } })}>
                      {t("activate")}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p className="muted small">{t("agreement.slaLegend")}</p>
    </section>
  );
}

function AgreementEditor() {
  const { t } = useTranslation("admin");
  const { id } = useParams();
  const navigate = useNavigate();
  const agreements = useAdminAgreements();
  const hospitals = useAdminHospitals();
  const save = useSave<Record<string, unknown>>("agreements");
  if ((id && agreements.isLoading) || hospitals.isLoading) return <Loading />;
  const loadError = (id ? agreements.error : null) ?? hospitals.error;
  if (loadError) return <ErrorMessage error={loadError} />;
  const agreement = id ? agreements.data?.find((a) => a.id === id) : undefined;
  if (id && !agreement) return <p role="alert" className="error">{t("notFound")}</p>;
  return (
    <section>
      <h2>{agreement ? t("agreement.edit", { id: agreement.id }) : t("agreement.new")}</h2>
      <AgreementForm
        key={agreement?.id ?? "new"}
        agreement={agreement}
        hospitals={hospitals.data ?? []}
        onSave={async (body) => {
          const saved = (await save.mutateAsync({ id: agreement?.id, body })) as { id?: string } | undefined;
          navigate("..", { state: { saved: saved?.id ?? agreement?.id ?? "" } });
        }}
      />
    </section>
  );
}

export default function AgreementsTab() {
  return (
    <Routes>
      <Route index element={<AgreementList />} />
      <Route path="new" element={<AgreementEditor />} />
      <Route path=":id" element={<AgreementEditor />} />
    </Routes>
  );
}
