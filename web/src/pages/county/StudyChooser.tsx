// The first step of a referral: the study, uploaded now or picked from the hospital's recent studies.
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";

import { ErrorMessage, Loading } from "../../components/ErrorMessage";
import { StudyUpload, type UploadResult } from "../../components/StudyUpload";
import { recentStudies, type StudyRow } from "./dicom";

function describe(s: StudyRow): string {
  return [s.studyDate, s.patientName, s.patientId, s.modalities.join("/"), s.description].filter(Boolean).join(" · ");
}

function StudyPicker({ onChosen }: { onChosen: (uid: string) => void }) {
  const { t } = useTranslation("county");
  const studies = useQuery({ queryKey: ["qido-studies"], queryFn: recentStudies, staleTime: 30_000 });
  const [uid, setUid] = useState("");
  if (studies.isLoading) return <Loading />;
  if (studies.error) return <ErrorMessage error={studies.error} onRetry={() => void studies.refetch()} />;
  const rows = studies.data ?? [];
  if (rows.length === 0) return <p className="muted">{t("picker.none")}</p>;
  return (
    <div className="row study-picker">
      <div className="field grow">
        <label htmlFor="study-picker">{t("picker.label")}</label>
        <select id="study-picker" value={uid} onChange={(e) => setUid(e.target.value)}>
          <option value="">{t("picker.placeholder")}</option>
          {rows.map((s) => (
            <option key={s.studyInstanceUid} value={s.studyInstanceUid}>
              {describe(s)}
            </option>
          ))}
        </select>
      </div>
      <button type="button" disabled={!uid} onClick={() => onChosen(uid)}>
        {t("picker.use")}
      </button>
    </div>
  );
}

function UploadedStudies({ result, onChosen }: { result: UploadResult; onChosen: (uid: string) => void }) {
  const { t } = useTranslation("county");
  if (result.studies.length === 0) return <p role="alert" className="error">{t("upload.noStudy")}</p>;
  if (result.studies.length === 1) return null;
  return (
    <div>
      <p>{t("upload.several")}</p>
      <div className="row">
        {result.studies.map((s) => (
          <button type="button" key={s.study_instance_uid} onClick={() => onChosen(s.study_instance_uid)}>
            {t("upload.chosenStudy", { uid: s.study_instance_uid })}
          </button>
        ))}
      </div>
    </div>
  );
}

export function StudyChooser({ onChosen }: { onChosen: (uid: string) => void }) {
  const { t } = useTranslation("county");
  const [mode, setMode] = useState<"upload" | "pick">("upload");
  const [uploaded, setUploaded] = useState<UploadResult | null>(null);
  const handleUploaded = (result: UploadResult) => {
    setUploaded(result);
    if (result.studies.length === 1) onChosen(result.studies[0].study_instance_uid);
  };
  return (
    <fieldset className="study-chooser">
      <legend>{t("upload.title")}</legend>
      <div className="row" role="radiogroup" aria-label={t("upload.title")}>
        <label className="inline">
          <input type="radio" name="study-source" checked={mode === "upload"} onChange={() => setMode("upload")} />
          {t("upload.chooseUpload")}
        </label>
        <label className="inline">
          <input type="radio" name="study-source" checked={mode === "pick"} onChange={() => setMode("pick")} />
          {t("upload.choosePick")}
        </label>
      </div>
      {mode === "upload" ? (
        <>
          <StudyUpload onUploaded={handleUploaded} />
          {uploaded && <UploadedStudies result={uploaded} onChosen={onChosen} />}
        </>
      ) : (
        <StudyPicker onChosen={onChosen} />
      )}
    </fieldset>
  );
}
