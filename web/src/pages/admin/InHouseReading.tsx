// A hospital's in-house reading policy (本院写片) on its admin page: which of its own studies its readers read, who,
// and the case terms. Its own resource (PUT/DELETE /api/admin/hospitals/{id}/in-house-reading), not an agreement.
import { zodResolver } from "@hookform/resolvers/zod";
import { useState, type ReactNode } from "react";
import { useForm } from "react-hook-form";
import { useTranslation } from "react-i18next";

import { ErrorMessage, Loading } from "../../components/ErrorMessage";
import {
  READER_ROLES,
  useAdminUsers,
  useInHouseReading,
  useSaveInHouseReading,
  type AdminHospital,
  type AdminUser,
  type InHouseReading,
  type InHouseReadingBody,
} from "./adminApi";
import { OfferTimeoutField, SecondReadingFieldset, SlaFieldset } from "./CaseTermsFields";
import { ConfirmButton, errorAt, Field, SaveFailureNotice, useSaveSubmit } from "./formParts";
import { inHouseBody, inHouseDefaults, inHouseSchema, type InHouseForm } from "./schemas";

const FIELDS = [
  "enabled",
  "modalities",
  "reader_ids",
  "auto_read",
  "sla.stat_minutes",
  "sla.urgent_minutes",
  "sla.routine_minutes",
  "offer_timeout_minutes",
  "second_reading",
  "second_reading_share",
  "pause_sla_in_needs_info",
] as const;
const RENAME = { sla: "sla.stat_minutes" };

export function InHouseReadingForm({
  policy,
  readers,
  onSave,
  onRemove,
}: {
  policy: InHouseReading | null;
  readers: AdminUser[];
  onSave: (body: InHouseReadingBody) => Promise<unknown>;
  onRemove?: () => void;
}) {
  const { t } = useTranslation("admin");
  const form = useForm<InHouseForm>({ resolver: zodResolver(inHouseSchema), defaultValues: inHouseDefaults(policy) });
  const { register, formState, watch } = form;
  const err = (path: string) => errorAt(formState.errors, path);
  const { submit, failure } = useSaveSubmit(form, (values) => onSave(inHouseBody(values, policy)), FIELDS, RENAME);
  // The server names a reader by position ("reader_ids.0"): its problem is shown on the readers' group.
  const readerError = err("reader_ids");
  // Checkboxes by hand, not register(): one lone checkbox would give RHF a string, not the list the API wants.
  const chosen = watch("reader_ids");
  const choose = (id: string, on: boolean) =>
    form.setValue("reader_ids", on ? [...chosen, id] : chosen.filter((x) => x !== id), { shouldDirty: true });

  return (
    <form onSubmit={submit} noValidate className="card admin-form in-house-form" aria-label={t("inHouse.title")}>
      <label className="inline">
        <input type="checkbox" {...register("enabled")} />
        {t("inHouse.enabled")}
      </label>
      <Field label={t("inHouse.modalities")} hint={t("inHouse.modalitiesHint")} error={err("modalities")}>
        {(aria) => <input {...aria} {...register("modalities")} placeholder="CT, MR" />}
      </Field>
      <fieldset>
        <legend>{t("inHouse.readers")}</legend>
        <p className="muted small">{t("inHouse.readersHint")}</p>
        {readers.length === 0 && <p className="muted small">{t("inHouse.noReaders")}</p>}
        {readers.map((r) => (
          <label key={r.id} className="inline">
            <input type="checkbox" checked={chosen.includes(r.id)} onChange={(e) => choose(r.id, e.target.checked)} />
            {r.display_name} <span className="muted small">({t(`common:role.${r.role}`)})</span>
          </label>
        ))}
        {readerError?.message && (
          <p role="alert" className="field-error small">
            {readerError.message}
          </p>
        )}
      </fieldset>
      <label className="inline">
        <input type="checkbox" {...register("auto_read")} />
        {t("inHouse.autoRead")}
      </label>
      <SlaFieldset form={form}>
        <OfferTimeoutField form={form} />
      </SlaFieldset>
      <SecondReadingFieldset form={form} />
      <SaveFailureNotice failure={failure} />
      <div className="row">
        <button type="submit" className="primary" disabled={formState.isSubmitting}>
          {formState.isSubmitting ? t("saving") : t("inHouse.save")}
        </button>
        {policy && onRemove && (
          <ConfirmButton label={t("inHouse.remove")} question={t("inHouse.confirmRemove")} confirmLabel={t("inHouse.remove")} onConfirm={onRemove} />
        )}
      </div>
    </form>
  );
}

/** The section of the hospital page: loads the policy and the hospital's readers, saves and removes. */
export default function InHouseReadingSection({ hospital }: { hospital: AdminHospital }) {
  const { t } = useTranslation("admin");
  const policy = useInHouseReading(hospital.id);
  const users = useAdminUsers();
  const save = useSaveInHouseReading(hospital.id);
  const [creating, setCreating] = useState(false);
  const [notice, setNotice] = useState("");
  const [removeError, setRemoveError] = useState<unknown>(null);
  const readers = (users.data ?? []).filter((u) => u.hospital_id === hospital.id && u.active && READER_ROLES.includes(u.role));

  let body: ReactNode;
  if (hospital.level === "township") body = <p className="muted">{t("inHouse.township")}</p>;
  else if (policy.isLoading || users.isLoading) body = <Loading />;
  else if (policy.error || users.error) body = <ErrorMessage error={policy.error ?? users.error} />;
  else if (!policy.data && !creating)
    body = (
      <>
        <p className="muted">{t("inHouse.none")}</p>
        <button type="button" onClick={() => setCreating(true)}>
          {t("inHouse.create")}
        </button>
      </>
    );
  else
    body = (
      <InHouseReadingForm
        key={policy.data?.updated_at ?? "new"}
        policy={policy.data ?? null}
        readers={readers}
        onSave={async (b) => {
          await save.mutateAsync(b);
          setNotice(t("inHouse.saved"));
        }}
        onRemove={() => {
          setRemoveError(null);
          void save
            .mutateAsync(null)
            .then(() => {
              setCreating(false);
              setNotice(t("inHouse.removed"));
            })
            .catch((error: unknown) => setRemoveError(error));
        }}
      />
    );
  return (
    <section aria-labelledby="in-house-heading" className="in-house">
      <h3 id="in-house-heading">{t("inHouse.title")}</h3>
      <p className="muted small">{t("inHouse.explain")}</p>
      {notice && (
        <p role="status" className="success">
          {notice}
        </p>
      )}
      <ErrorMessage error={removeError} />
      {body}
    </section>
  );
}
