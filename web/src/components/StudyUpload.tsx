// Uploading a study (DICOM files or zips) with a real progress bar, then what happened to each file.
// XMLHttpRequest rather than fetch: only XHR reports upload progress.
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";

import { ApiError, apiError, parsed } from "../api/client";
import type { UploadResult } from "../api/generated/schema";
import { getToken, onUnauthorized } from "../auth/token";
import { ErrorMessage } from "./ErrorMessage";

export type { UploadResult };

/** POST /api/studies/upload; `onProgress` gets the fraction of bytes sent (0..1). */
export function uploadStudy(files: File[], onProgress: (fraction: number) => void): Promise<UploadResult> {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    files.forEach((f) => form.append("files", f, f.name));
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/studies/upload");
    const token = getToken();
    if (token) xhr.setRequestHeader("Authorization", `Bearer ${token}`);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total);
    };
    xhr.onload = () => {
      if (xhr.status === 401 && token) onUnauthorized();
      if (xhr.status >= 200 && xhr.status < 300) {
        try {
          resolve(JSON.parse(xhr.responseText) as UploadResult);
        } catch {
          reject(new ApiError(xhr.status, "error", "unreadable answer"));
        }
      } else reject(apiError(xhr.status, xhr.statusText, parsed(xhr.responseText)));
    };
    xhr.onerror = () => reject(new ApiError(0, "network_error", "network"));
    xhr.send(form);
  });
}

export function UploadProgress({ fraction }: { fraction: number }) {
  const { t } = useTranslation("county");
  const percent = Math.round(fraction * 100);
  return (
    <div className="upload-progress">
      <progress className="progress" max={100} value={percent} aria-label={t("upload.progress")}>
        {percent}%
      </progress>
      <p role="status" aria-live="polite" className="small">
        {percent < 100 ? t("upload.uploading", { percent }) : t("upload.processing")}
      </p>
    </div>
  );
}

export function UploadOutcomes({ result }: { result: UploadResult }) {
  const { t } = useTranslation("county");
  return (
    <div className="upload-outcomes">
      <p role="status" className={result.failed > 0 ? "warning" : "success"}>
        {t("upload.summary", { stored: result.stored, failed: result.failed })}
      </p>
      <ul aria-label={t("upload.outcomesTitle")} className="plain outcome-list">
        {result.files.map((f, i) => (
          <li key={`${f.file}-${i}`} className={`outcome-${f.outcome}`} data-outcome={f.outcome}>
            <span className={`badge outcome-badge-${f.outcome}`}>{t(`upload.outcome.${f.outcome}`)}</span>{" "}
            <span className="file-name">{f.file}</span>
            {f.reason && <span className="small"> — {f.reason}</span>}
          </li>
        ))}
      </ul>
    </div>
  );
}

/** The file picker, the upload and its report; `onUploaded` gets the answer once the server has stored the files. */
export function StudyUpload({ onUploaded }: { onUploaded: (result: UploadResult) => void }) {
  const { t } = useTranslation("county");
  const [files, setFiles] = useState<File[]>([]);
  const [fraction, setFraction] = useState<number | null>(null);
  const [result, setResult] = useState<UploadResult | null>(null);
  const [error, setError] = useState<unknown>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (files.length === 0) return;
    setError(null);
    setResult(null);
    setFraction(0);
    try {
      const answer = await uploadStudy(files, setFraction);
      setResult(answer);
      onUploaded(answer);
    } catch (err) {
      setError(err);
    } finally {
      setFraction(null);
    }
  };

  // A div, not a form: this sits inside the referral form and forms may not nest.
  return (
    <div className="study-upload">
      <label>
        {t("upload.files")}
        <input
          type="file"
          multiple
          accept=".dcm,.zip,application/dicom,application/zip"
          onChange={(e) => setFiles(Array.from(e.target.files ?? []))}
          disabled={fraction !== null}
        />
      </label>
      <button type="button" onClick={submit} disabled={files.length === 0 || fraction !== null}>
        {t("upload.start")}
      </button>
      {fraction !== null && <UploadProgress fraction={fraction} />}
      {error !== null && <ErrorMessage error={error} />}
      {result && <UploadOutcomes result={result} />}
    </div>
  );
}
