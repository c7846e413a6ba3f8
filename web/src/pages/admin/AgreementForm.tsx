// An agreement's terms, in the sections an administrator negotiates them: who, what is sent, how fast, who checks.
import { zodResolver } from "@hookform/resolvers/zod";
import { useForm } from "react-hook-form";
import { useTranslation } from "react-i18next";

import type { NewAgreement } from "../../api/generated/schema";
import { SERVICE_MODES, type AdminAgreement, type AdminHospital } from "./adminApi";
import { OfferTimeoutField, SecondReadingFieldset, SlaFieldset } from "./CaseTermsFields";
import { errorAt, Field, FormButtons, SaveFailureNotice, useSaveSubmit } from "./formParts";
import { agreementBody, agreementDefaults, agreementSchema, type AgreementForm as Values } from "./schemas";

const FIELDS = [
  "id",
  "requesting_hospital_id",
  "reading_hospital_id",
  "service_mode",
  "sla.stat_minutes",
  "sla.urgent_minutes",
  "sla.routine_minutes",
  "offer_timeout_minutes",
  "grace_minutes",
  "auto_reassign",
  "max_auto_reassigns",
  "second_reading",
  "second_reading_share",
  "pause_sla_in_needs_info",
  "critical_ack_minutes",
  "critical_renotify_max",
  "half_hosting.modalities",
  "half_hosting.hours_start",
  "half_hosting.hours_end",
  "half_hosting.overflow_daily_cap",
  "cooperation_modalities",
  "timezone",
  "active",
] as const;
// Whole-object problems ("half_hosting": needs a rule) land on the first field of the section.
const RENAME = { half_hosting: "half_hosting.modalities", sla: "sla.stat_minutes" };

export function AgreementForm({
  agreement,
  hospitals,
  onSave,
}: {
  agreement?: AdminAgreement;
  hospitals: AdminHospital[];
  onSave: (body: NewAgreement) => Promise<unknown>;
}) {
  const { t } = useTranslation("admin");
  const creating = !agreement;
  const form = useForm<Values>({ resolver: zodResolver(agreementSchema), defaultValues: agreementDefaults(agreement) });
  const { register, formState, watch } = form;
  const errors = formState.errors;
  const err = (path: string) => errorAt(errors, path);
  const mode = watch("service_mode");
  const nameOf = (id: string) => hospitals.find((h) => h.id === id)?.name ?? id;
  const num = { valueAsNumber: true } as const;

  const { submit, failure } = useSaveSubmit(
    form,
    (values) => onSave(agreementBody(values, creating)),
    FIELDS,
    RENAME,
  );

  return (
    <form onSubmit={submit} noValidate className="card admin-form agreement-form">
      <fieldset>
        <legend>{t("agreement.parties")}</legend>
        {creating ? (
          <div className="grid2">
            <Field label={t("agreement.requesting")} hint={t("hint.requesting")} error={err("requesting_hospital_id")}>
              {(aria) => (
                <select {...aria} {...register("requesting_hospital_id")}>
                  <option value="">{t("choose")}</option>
                  {hospitals
                    .filter((h) => h.level !== "tertiary")
                    .map((h) => (
                      <option key={h.id} value={h.id}>
                        {h.name}
                      </option>
                    ))}
                </select>
              )}
            </Field>
            <Field label={t("agreement.reading")} hint={t("hint.reading")} error={err("reading_hospital_id")}>
              {(aria) => (
                <select {...aria} {...register("reading_hospital_id")}>
                  <option value="">{t("choose")}</option>
                  {hospitals
                    .filter((h) => h.level === "tertiary")
                    .map((h) => (
                      <option key={h.id} value={h.id}>
                        {h.name}
                      </option>
                    ))}
                </select>
              )}
            </Field>
            <Field label={t("agreement.idOptional")} hint={t("hint.id")} error={err("id")}>
              {(aria) => <input {...aria} {...register("id")} autoComplete="off" />}
            </Field>
          </div>
        ) : (
          <>
            <dl className="terms">
              <dt>{t("agreement.requesting")}</dt>
              <dd>{nameOf(agreement.requesting_hospital_id)}</dd>
              <dt>{t("agreement.reading")}</dt>
              <dd>{nameOf(agreement.reading_hospital_id)}</dd>
            </dl>
            <p className="muted small">{t("hint.partiesFixed")}</p>
            {(err("requesting_hospital_id") || err("reading_hospital_id")) && (
              <p role="alert" className="field-error small">
                {err("requesting_hospital_id")?.message ?? err("reading_hospital_id")?.message}
              </p>
            )}
          </>
        )}
      </fieldset>

      <fieldset>
        <legend>{t("agreement.whatIsSent")}</legend>
        <Field label={t("agreement.mode")} error={err("service_mode")}>
          {(aria) => (
            <select {...aria} {...register("service_mode")}>
              {SERVICE_MODES.map((m) => (
                <option key={m} value={m}>
                  {t(`mode.${m}`)}
                </option>
              ))}
            </select>
          )}
        </Field>
        <dl className="mode-help small">
          {SERVICE_MODES.map((m) => (
            <div key={m} className={m === mode ? "chosen" : ""}>
              <dt>{t(`mode.${m}`)}</dt>
              <dd>{t(`modeHelp.${m}`)}</dd>
            </div>
          ))}
        </dl>
        {mode === "half_hosting" && (
          <fieldset className="nested">
            <legend>{t("agreement.halfRules")}</legend>
            <p className="muted small">{t("hint.halfRules")}</p>
            <Field label={t("agreement.halfModalities")} hint={t("hint.modalities")} error={err("half_hosting.modalities")}>
              {(aria) => <input {...aria} {...register("half_hosting.modalities")} placeholder="CT, MR" />}
            </Field>
            <div className="grid3">
              <Field label={t("agreement.hoursStart")} error={err("half_hosting.hours_start")}>
                {(aria) => <input {...aria} type="time" {...register("half_hosting.hours_start")} />}
              </Field>
              <Field label={t("agreement.hoursEnd")} hint={t("hint.hoursEnd")} error={err("half_hosting.hours_end")}>
                {(aria) => <input {...aria} type="time" {...register("half_hosting.hours_end")} />}
              </Field>
              <Field label={t("agreement.overflowCap")} hint={t("hint.overflowCap")} error={err("half_hosting.overflow_daily_cap")}>
                {(aria) => <input {...aria} type="number" min={0} max={10000} {...register("half_hosting.overflow_daily_cap", num)} />}
              </Field>
            </div>
          </fieldset>
        )}
        {mode === "cooperation" && (
          <Field label={t("agreement.cooperationModalities")} hint={t("hint.cooperation")} error={err("cooperation_modalities")}>
            {(aria) => <input {...aria} {...register("cooperation_modalities")} placeholder="MR, CT" />}
          </Field>
        )}
        <Field label={t("agreement.timezone")} hint={t("hint.timezone")} error={err("timezone")}>
          {(aria) => <input {...aria} {...register("timezone")} />}
        </Field>
      </fieldset>

      <SlaFieldset form={form} />

      <fieldset>
        <legend>{t("agreement.offers")}</legend>
        <div className="grid3">
          <OfferTimeoutField form={form} />
          <Field label={t("agreement.grace")} hint={t("hint.grace")} error={err("grace_minutes")}>
            {(aria) => <input {...aria} type="number" min={0} {...register("grace_minutes", num)} />}
          </Field>
          <Field label={t("agreement.maxAutoReassigns")} error={err("max_auto_reassigns")}>
            {(aria) => <input {...aria} type="number" min={0} max={20} {...register("max_auto_reassigns", num)} />}
          </Field>
        </div>
        <label className="inline">
          <input type="checkbox" {...register("auto_reassign")} />
          {t("agreement.autoReassign")}
        </label>
      </fieldset>

      <SecondReadingFieldset form={form} />

      <fieldset>
        <legend>{t("agreement.critical")}</legend>
        <div className="grid2">
          <Field label={t("agreement.criticalAck")} hint={t("hint.criticalAck")} error={err("critical_ack_minutes")}>
            {(aria) => <input {...aria} type="number" min={1} {...register("critical_ack_minutes", num)} />}
          </Field>
          <Field label={t("agreement.criticalRenotify")} error={err("critical_renotify_max")}>
            {(aria) => <input {...aria} type="number" min={0} max={20} {...register("critical_renotify_max", num)} />}
          </Field>
        </div>
      </fieldset>

      <label className="inline">
        <input type="checkbox" {...register("active")} />
        {t("agreement.active")}
      </label>
      <SaveFailureNotice failure={failure} />
      {Object.keys(errors).length > 0 && !failure && (
        <p role="alert" className="error small">
          {t("fixErrors")}
        </p>
      )}
      <FormButtons pending={formState.isSubmitting} />
    </form>
  );
}
