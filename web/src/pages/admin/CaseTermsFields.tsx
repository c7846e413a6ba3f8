// The case terms an agreement and a hospital's in-house reading policy both set (SLA targets, offer timeout,
// needs-info pause, second reading), as the pieces both forms lay out. The agreement form puts the offer timeout
// among its offer terms and the in-house form inside its SLA section, hence pieces rather than one block.
import type { ReactNode } from "react";
import { useWatch, type UseFormReturn } from "react-hook-form";
import { useTranslation } from "react-i18next";

import { SECOND_READING } from "./adminApi";
import { errorAt, Field } from "./formParts";
import type { CaseTermsValues } from "./schemas";

const num = { valueAsNumber: true } as const;

/**
 * The form seen through its case-terms fields. RHF cannot resolve a path such as "sla.stat_minutes" against a
 * generic T, even one constrained to extend CaseTermsValues, so the one cast is here: the constraint on T is what
 * makes it sound (the fields exist, with these types, in every form that may pass itself in).
 */
function termsForm<T extends CaseTermsValues>(form: UseFormReturn<T>) {
  return form as unknown as UseFormReturn<CaseTermsValues>;
}

/** SLA targets per priority, then `children` (terms the form keeps in this section), then the needs-info pause. */
export function SlaFieldset<T extends CaseTermsValues>({ form, children }: { form: UseFormReturn<T>; children?: ReactNode }) {
  const { t } = useTranslation("admin");
  const { register, formState } = termsForm(form);
  const err = (path: string) => errorAt(formState.errors, path);
  return (
    <fieldset>
      <legend>{t("agreement.slaTargets")}</legend>
      <p className="muted small">{t("hint.sla")}</p>
      <div className="grid3">
        <Field label={t("agreement.stat")} error={err("sla.stat_minutes")}>
          {(aria) => <input {...aria} type="number" min={1} {...register("sla.stat_minutes", num)} />}
        </Field>
        <Field label={t("agreement.urgent")} error={err("sla.urgent_minutes")}>
          {(aria) => <input {...aria} type="number" min={1} {...register("sla.urgent_minutes", num)} />}
        </Field>
        <Field label={t("agreement.routine")} error={err("sla.routine_minutes")}>
          {(aria) => <input {...aria} type="number" min={1} {...register("sla.routine_minutes", num)} />}
        </Field>
      </div>
      {children}
      <label className="inline">
        <input type="checkbox" {...register("pause_sla_in_needs_info")} />
        {t("agreement.pauseSla")}
      </label>
    </fieldset>
  );
}

export function OfferTimeoutField<T extends CaseTermsValues>({ form }: { form: UseFormReturn<T> }) {
  const { t } = useTranslation("admin");
  const { register, formState } = termsForm(form);
  return (
    <Field label={t("agreement.offerTimeout")} hint={t("hint.offerTimeout")} error={errorAt(formState.errors, "offer_timeout_minutes")}>
      {(aria) => <input {...aria} type="number" min={1} {...register("offer_timeout_minutes", num)} />}
    </Field>
  );
}

/** The second-reading policy, and the share of cases checked when it is random_share. */
export function SecondReadingFieldset<T extends CaseTermsValues>({ form }: { form: UseFormReturn<T> }) {
  const { t } = useTranslation("admin");
  const { register, formState, control } = termsForm(form);
  const err = (path: string) => errorAt(formState.errors, path);
  const policy = useWatch({ control, name: "second_reading" });
  return (
    <fieldset>
      <legend>{t("agreement.secondReadingSection")}</legend>
      <Field label={t("agreement.secondReading")} error={err("second_reading")}>
        {(aria) => (
          <select {...aria} {...register("second_reading")}>
            {SECOND_READING.map((p) => (
              <option key={p} value={p}>
                {t(`secondReading.${p}`)}
              </option>
            ))}
          </select>
        )}
      </Field>
      {policy === "random_share" && (
        <Field label={t("agreement.share")} hint={t("hint.share")} error={err("second_reading_share")}>
          {(aria) => <input {...aria} type="number" min={0} max={1} step={0.05} {...register("second_reading_share", num)} />}
        </Field>
      )}
    </fieldset>
  );
}
