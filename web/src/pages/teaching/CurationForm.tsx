// The educator's curation: the whole curation as one form; saving makes a new version (the server keeps them all).
// The buttons are the case's allowed_actions; a publish the leak scan blocks shows what it found.
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";

import { ApiError } from "../../api/client";
import { ErrorMessage } from "../../components/ErrorMessage";
import { LeakList, type Leak } from "./Deidentification";
import { useCaseAction, useSaveCuration, type CurationBody, type TeachingCaseDetail } from "./api";

const lines = (text: string) =>
  text
    .split("\n")
    .map((s) => s.trim())
    .filter(Boolean);

export function toBody(c: TeachingCaseDetail["curation"], comment = ""): CurationBody {
  return { ...c, comment };
}

export function CurationForm({ teachingCase }: { teachingCase: TeachingCaseDetail }) {
  const { t } = useTranslation("teaching");
  const c = teachingCase.curation;
  const [form, setForm] = useState({
    ...c,
    differentialText: c.differential.join("\n"),
    keyImagesText: c.key_images.join("\n"),
    tagsText: c.tags.join(", "),
    comment: "",
  });
  const [reviewed, setReviewed] = useState<string[]>(c.reviewed_images);
  const flags = teachingCase.deidentification?.image_flags ?? [];
  const [reason, setReason] = useState("");
  const save = useSaveCuration(teachingCase.id);
  const act = useCaseAction(teachingCase.id);
  const can = (a: string) => teachingCase.allowed_actions.includes(a as never);
  const set = (k: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [k]: e.target.value });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const { differentialText, keyImagesText, tagsText, ...rest } = form;
    save.mutate({
      ...rest,
      reviewed_images: reviewed,
      differential: lines(differentialText),
      key_images: lines(keyImagesText),
      tags: tagsText
        .split(/[,，]/)
        .map((s) => s.trim())
        .filter(Boolean),
    });
  };
  const leaks: Leak[] =
    act.error instanceof ApiError && act.error.code === "conflict"
      ? (((act.error.details as { leaks?: Leak[] } | null)?.leaks ?? []) as Leak[])
      : [];
  return (
    <section className="card curation" aria-labelledby="curation-title">
      <h2 id="curation-title">
        {t("curate.title")} <span className="muted small">{t("case.version", { version: teachingCase.version })}</span>
      </h2>
      {can("edit") && (
        <form onSubmit={submit} className="curation-form">
          <label>
            {t("curate.caseTitle")}
            <input name="title" value={form.title} onChange={set("title")} maxLength={200} />
          </label>
          <label>
            {t("curate.diagnosis")}
            <textarea name="diagnosis" value={form.diagnosis} onChange={set("diagnosis")} rows={2} />
          </label>
          <label>
            {t("curate.icd10")}
            <input name="icd10" value={form.icd10} onChange={set("icd10")} maxLength={16} placeholder="C34.1" />
          </label>
          <label>
            {t("curate.differential")}
            <textarea name="differential" value={form.differentialText} onChange={set("differentialText")} rows={3} />
          </label>
          <label>
            {t("curate.teachingPoints")}
            <textarea name="teaching_points" value={form.teaching_points} onChange={set("teaching_points")} rows={4} />
          </label>
          <label>
            {t("curate.history")}
            <textarea name="history" value={form.history} onChange={set("history")} rows={2} />
          </label>
          <label>
            {t("curate.findings")}
            <textarea name="findings" value={form.findings} onChange={set("findings")} rows={4} />
          </label>
          <label>
            {t("curate.impression")}
            <textarea name="impression" value={form.impression} onChange={set("impression")} rows={2} />
          </label>
          {flags.length > 0 && (
            <fieldset>
              <legend>{t("curate.reviewed")}</legend>
              {flags.map((f) => (
                <label key={f.sop_instance_uid} className="check">
                  <input
                    type="checkbox"
                    checked={reviewed.includes(f.sop_instance_uid)}
                    onChange={(e) =>
                      setReviewed(
                        e.target.checked
                          ? [...reviewed, f.sop_instance_uid]
                          : reviewed.filter((x) => x !== f.sop_instance_uid),
                      )
                    }
                  />{" "}
                  <code className="small">{f.sop_instance_uid}</code> {f.reason}
                </label>
              ))}
            </fieldset>
          )}
          <label>
            {t("curate.keyImages")}
            <textarea name="key_images" value={form.keyImagesText} onChange={set("keyImagesText")} rows={2} />
          </label>
          <div className="row">
            <label>
              {t("curate.modality")}
              <input name="modality" value={form.modality} onChange={set("modality")} maxLength={16} />
            </label>
            <label>
              {t("curate.bodyPart")}
              <input name="body_part" value={form.body_part} onChange={set("body_part")} maxLength={64} />
            </label>
          </div>
          <div className="row">
            <label>
              {t("case.difficulty")}
              <select name="difficulty" value={form.difficulty} onChange={set("difficulty")}>
                {(["basic", "intermediate", "advanced"] as const).map((d) => (
                  <option key={d} value={d}>
                    {t(`difficulty.${d}`)}
                  </option>
                ))}
              </select>
            </label>
            <label>
              {t("case.certainty")}
              <select name="certainty" value={form.certainty} onChange={set("certainty")}>
                {(["pathology_proven", "follow_up_confirmed", "expert_consensus", "presumptive"] as const).map((d) => (
                  <option key={d} value={d}>
                    {t(`certainty.${d}`)}
                  </option>
                ))}
              </select>
            </label>
            <label>
              {t("curate.visibility")}
              <select name="visibility" value={form.visibility} onChange={set("visibility")}>
                {(["draft", "alliance", "public"] as const).map((v) => (
                  <option key={v} value={v}>
                    {t(`visibility.${v}`)}
                  </option>
                ))}
              </select>
            </label>
          </div>
          <label>
            {t("curate.tags")}
            <input name="tags" value={form.tagsText} onChange={set("tagsText")} />
          </label>
          <label>
            {t("curate.comment")}
            <input name="comment" value={form.comment} onChange={set("comment")} maxLength={2000} />
          </label>
          <ErrorMessage error={save.error} />
          {save.isSuccess && (
            <p role="status" className="muted small">
              {t("curate.saved", { version: save.data.version })}
            </p>
          )}
          <button type="submit" disabled={save.isPending}>
            {t("action.edit")}
          </button>
        </form>
      )}
      <div className="row actions">
        {(["accept", "publish"] as const)
          .filter(can)
          .map((a) => (
            <button
              key={a}
              type="button"
              className="primary"
              disabled={act.isPending}
              onClick={() => act.mutate({ action: a, body: { comment: "" } })}
            >
              {t(`action.${a}`)}
            </button>
          ))}
        {(can("dismiss") || can("unpublish")) && (
          <>
            <label>
              {t(can("unpublish") ? "curate.unpublishReason" : "curate.dismissReason")}
              <input value={reason} onChange={(e) => setReason(e.target.value)} maxLength={2000} />
            </label>
            {(["dismiss", "unpublish"] as const).filter(can).map((a) => (
              <button
                key={a}
                type="button"
                disabled={act.isPending || (a === "unpublish" && !reason.trim())}
                onClick={() => act.mutate({ action: a, body: { comment: reason.trim() } })}
              >
                {t(`action.${a}`)}
              </button>
            ))}
          </>
        )}
      </div>
      {act.isSuccess && act.data.state === "published" && (
        <p role="status" className="muted small">
          {t("curate.published")}
        </p>
      )}
      {leaks.length > 0 ? <LeakList leaks={leaks} /> : <ErrorMessage error={act.error} />}
    </section>
  );
}
