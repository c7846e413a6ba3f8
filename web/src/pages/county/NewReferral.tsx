// The county doctor sends a case: the study first (its header fills in the patient and exam), then the request.
// What the agreement covers is said before anything is typed, and a refusal is shown in the server's words
// next to the form, which keeps everything typed.
import { zodResolver } from "@hookform/resolvers/zod";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useState } from "react";
import { useForm, useWatch } from "react-hook-form";
import { useTranslation } from "react-i18next";
import { Link, useNavigate } from "react-router-dom";
import { z } from "zod";

import { ApiError, api, ok } from "../../api/client";
import { PRIORITIES } from "../../api/types";
import { useMe } from "../../auth/session";
import { ErrorMessage, Loading, errorText } from "../../components/ErrorMessage";
import { AgreementSummary, allowsOverflow, onlyDifficult, outgoing } from "./AgreementSummary";
import { findStudy, studyBodyPart } from "./dicom";
import { ReadingHospitalPicker } from "./ReadingHospitalPicker";
import { StudyChooser } from "./StudyChooser";

const schema = z.object({
  study_instance_uid: z.string().trim().regex(/^[0-9]+(\.[0-9]+)*$/, "invalidUid").min(3, "invalidUid").max(64),
  patient_id: z.string().trim().min(1, "required").max(64),
  name: z.string().trim().min(1, "required").max(200),
  birth_date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "invalidDate"),
  sex: z.enum(["M", "F", "O"], { message: "required" }),
  modality: z.string().trim().toUpperCase().regex(/^[A-Z]{2,16}$/, "invalidModality"),
  body_part: z.string().trim().min(1, "required").max(64),
  clinical_question: z.string().trim().min(3, "tooShort").max(4000),
  priority: z.enum(["stat", "urgent", "routine"]),
  difficult: z.boolean(),
  overflow: z.boolean(),
  reading_hospital_id: z.string().optional(), // "": automatic (the rules choose)
});
type FormValues = z.input<typeof schema>;
type Payload = z.output<typeof schema>;

const EMPTY: FormValues = {
  study_instance_uid: "",
  patient_id: "",
  name: "",
  birth_date: "",
  sex: "" as FormValues["sex"],
  modality: "",
  body_part: "",
  clinical_question: "",
  priority: "routine",
  difficult: false,
  overflow: false,
  reading_hospital_id: "",
};

interface AgreementReason {
  agreement_id: string;
  service_mode: string;
  reason: string;
}

/** The lines under a refusal: each agreement's reason, or each invalid field. */
export function refusalDetails(error: unknown): string[] {
  if (!(error instanceof ApiError) || !error.details) return [];
  const details = error.details as { agreements?: AgreementReason[] } | { field: string; problem: string }[];
  if (Array.isArray(details)) return details.map((d) => `${d.field.replace(/^body\./, "")}: ${d.problem}`);
  return (details.agreements ?? []).map((a) => `${a.agreement_id} (${a.service_mode}): ${a.reason}`);
}

function Refusal({ error }: { error: unknown }) {
  const { t } = useTranslation("county");
  const lines = refusalDetails(error);
  return (
    <div role="alert" className="error refusal">
      <strong>{t("form.refused")}: </strong>
      {errorText(error, t)}
      {error instanceof ApiError && <code className="code"> ({error.code})</code>}
      {lines.length > 0 && (
        <ul>
          {lines.map((line) => (
            <li key={line}>{line}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

function FieldError({ id, message }: { id: string; message?: string }) {
  const { t } = useTranslation("county");
  if (!message) return null;
  return (
    <span id={id} className="field-error small" role="alert">
      {t(`form.${message}`, { defaultValue: message })}
    </span>
  );
}

export default function NewReferral() {
  const { t } = useTranslation("county");
  const me = useMe();
  const navigate = useNavigate();
  const client = useQueryClient();
  const agreementsQuery = useQuery({
    queryKey: ["agreements"],
    queryFn: () => ok(api.GET("/api/agreements")),
    staleTime: 5 * 60_000,
    select: (page) => page.items,
  });
  const agreements = outgoing(agreementsQuery.data ?? [], me.hospital_id);
  const [refusal, setRefusal] = useState<unknown>(null);
  const [prefill, setPrefill] = useState<{ uid: string; error?: unknown } | null>(null);
  const form = useForm<FormValues, unknown, Payload>({ resolver: zodResolver(schema), defaultValues: EMPTY });
  const { register, formState } = form;
  const errors = formState.errors;
  const [modality, readingHospital] = useWatch({ control: form.control, name: ["modality", "reading_hospital_id"] });
  const backToAutomatic = useCallback(() => form.setValue("reading_hospital_id", ""), [form]);

  const chooseStudy = async (uid: string) => {
    form.setValue("study_instance_uid", uid, { shouldValidate: true });
    setPrefill({ uid });
    try {
      const [study, bodyPart] = await Promise.all([findStudy(uid), studyBodyPart(uid).catch(() => "")]);
      const fill = (field: keyof FormValues, value: string) => {
        if (value) form.setValue(field, value, { shouldValidate: true, shouldDirty: true });
      };
      if (study) {
        fill("patient_id", study.patientId);
        fill("name", study.patientName);
        fill("birth_date", study.birthDate);
        fill("sex", study.sex);
        fill("modality", study.modalities[0] ?? "");
      }
      fill("body_part", bodyPart);
    } catch (error) {
      setPrefill({ uid, error });
    }
  };

  const onSubmit = form.handleSubmit(async (v) => {
    setRefusal(null);
    try {
      const created = await ok(
        api.POST("/api/referrals", {
          body: {
            patient: { patient_id: v.patient_id, name: v.name, birth_date: v.birth_date, sex: v.sex },
            study_instance_uid: v.study_instance_uid,
            modality: v.modality,
            body_part: v.body_part,
            clinical_question: v.clinical_question,
            priority: v.priority,
            difficult: v.difficult,
            overflow: showOverflow ? v.overflow : false,
            reading_hospital_id: v.reading_hospital_id || null,
          },
        }),
      );
      void client.invalidateQueries({ queryKey: ["referrals"] });
      navigate(`/cases/${created.id}`);
    } catch (error) {
      setRefusal(error);
    }
  });

  const difficultOnly = onlyDifficult(agreements);
  const showOverflow = allowsOverflow(agreements);
  const describedBy = (name: keyof FormValues) => (errors[name] ? `err-${name}` : undefined);

  return (
    <div className="new-referral">
      <div className="row between">
        <h1>{t("form.title")}</h1>
        <Link to="/cases">{t("cases.title")}</Link>
      </div>
      {agreementsQuery.isLoading ? (
        <Loading />
      ) : agreementsQuery.error ? (
        <ErrorMessage error={agreementsQuery.error} onRetry={() => void agreementsQuery.refetch()} />
      ) : (
        <AgreementSummary agreements={agreements} inHouse={me.reads_in_house} />
      )}

      <form className="card referral-form" onSubmit={onSubmit} noValidate aria-labelledby="referral-form-title">
        <h2 id="referral-form-title" className="visually-hidden">
          {t("form.title")}
        </h2>
        <StudyChooser onChosen={(uid) => void chooseStudy(uid)} />
        <label>
          {t("form.studyUid")}
          <input
            {...register("study_instance_uid")}
            className="mono"
            aria-invalid={!!errors.study_instance_uid}
            aria-describedby={describedBy("study_instance_uid")}
          />
        </label>
        <FieldError id="err-study_instance_uid" message={errors.study_instance_uid?.message} />
        {prefill && !prefill.error && (
          <p className="muted small" role="status">
            {t("form.prefilled")}
          </p>
        )}
        {prefill?.error != null && <ErrorMessage error={prefill.error} />}

        <div className="grid2">
          <fieldset>
            <legend>{t("form.patient")}</legend>
            <label>
              {t("form.patientId")}
              <input {...register("patient_id")} aria-invalid={!!errors.patient_id} aria-describedby={describedBy("patient_id")} />
            </label>
            <FieldError id="err-patient_id" message={errors.patient_id?.message} />
            <label>
              {t("form.patientName")}
              <input {...register("name")} aria-invalid={!!errors.name} aria-describedby={describedBy("name")} />
            </label>
            <FieldError id="err-name" message={errors.name?.message} />
            <label>
              {t("form.birthDate")}
              <input
                type="date"
                {...register("birth_date")}
                aria-invalid={!!errors.birth_date}
                aria-describedby={describedBy("birth_date")}
              />
            </label>
            <FieldError id="err-birth_date" message={errors.birth_date?.message} />
            <div className="field">
              <label htmlFor="referral-sex">{t("form.sex")}</label>
              <select id="referral-sex" {...register("sex")} aria-invalid={!!errors.sex} aria-describedby={describedBy("sex")}>
                <option value="">—</option>
                <option value="M">{t("form.sexM")}</option>
                <option value="F">{t("form.sexF")}</option>
                <option value="O">{t("form.sexO")}</option>
              </select>
            </div>
            <FieldError id="err-sex" message={errors.sex?.message} />
          </fieldset>

          <fieldset>
            <legend>{t("form.exam")}</legend>
            <label>
              {t("form.modality")}
              <input
                {...register("modality")}
                autoCapitalize="characters"
                aria-invalid={!!errors.modality}
                aria-describedby={describedBy("modality")}
              />
            </label>
            <FieldError id="err-modality" message={errors.modality?.message} />
            <label>
              {t("form.bodyPart")}
              <input {...register("body_part")} aria-invalid={!!errors.body_part} aria-describedby={describedBy("body_part")} />
            </label>
            <FieldError id="err-body_part" message={errors.body_part?.message} />
            <div className="field">
              <label htmlFor="referral-priority">{t("form.priority")}</label>
              <select id="referral-priority" {...register("priority")}>
                {PRIORITIES.map((p) => (
                  <option key={p} value={p}>
                    {t(`common:priority.${p}`)}
                  </option>
                ))}
              </select>
            </div>
          </fieldset>
        </div>

        <fieldset>
          <legend>{t("form.request")}</legend>
          <label>
            {t("form.clinicalQuestion")}
            <textarea
              {...register("clinical_question")}
              rows={4}
              aria-invalid={!!errors.clinical_question}
              aria-describedby={describedBy("clinical_question")}
            />
          </label>
          <FieldError id="err-clinical_question" message={errors.clinical_question?.message} />
          <div className={difficultOnly ? "difficult-box prominent" : "difficult-box"}>
            <label className="inline">
              <input type="checkbox" {...register("difficult")} aria-describedby="difficult-help" />
              {t("form.difficult")}
            </label>
            <p id="difficult-help" className="muted small">
              {difficultOnly ? t("agreement.difficultHint") : t("form.difficultHelp")}
            </p>
          </div>
          {showOverflow && (
            <label className="inline">
              <input type="checkbox" {...register("overflow")} />
              {t("form.overflow")}
            </label>
          )}
          <ReadingHospitalPicker
            hospitalId={me.hospital_id}
            modality={modality ?? ""}
            value={readingHospital ?? ""}
            field={register("reading_hospital_id")}
            onStale={backToAutomatic}
          />
        </fieldset>

        {refusal != null && <Refusal error={refusal} />}
        <button type="submit" className="primary" disabled={formState.isSubmitting}>
          {formState.isSubmitting ? t("form.submitting") : t("form.submit")}
        </button>
      </form>
    </div>
  );
}
