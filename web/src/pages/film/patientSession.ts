// The patient's own session on the phone (cloud film): a patient token, kept apart from staff sessions, sent
// explicitly on each call, and the errors the sign-in and QR doors answer with, as keys of the film strings.
import { ApiError } from "../../api/client";

const KEY = "yilian.patient-token";

export function patientToken(): string | null {
  return window.sessionStorage.getItem(KEY);
}

export function setPatientToken(token: string | null): void {
  if (token) window.sessionStorage.setItem(KEY, token);
  else window.sessionStorage.removeItem(KEY);
}

export function asPatient(): { headers: { Authorization: string } } {
  return { headers: { Authorization: `Bearer ${patientToken() ?? ""}` } };
}

/** The film strings' error key for an API refusal (error.*), or "other". */
export function filmErrorKey(error: unknown): string {
  if (!(error instanceof ApiError)) return "other";
  return (
    {
      wrong_second_factor: "wrongCode",
      sign_in_code_expired: "expired",
      sign_in_locked: "locked",
      gone: "gone",
      not_found: "notFound",
    }[error.code] ?? "other"
  );
}

/** Download an answer that needs the patient's token (an <a href> cannot send it). */
export async function downloadWithToken(url: string, filename: string): Promise<void> {
  const response = await fetch(url, { headers: asPatient().headers });
  if (!response.ok) throw new ApiError(response.status, "error", response.statusText);
  const href = URL.createObjectURL(await response.blob());
  const a = document.createElement("a");
  a.href = href;
  a.download = filename;
  a.click();
  setTimeout(() => URL.revokeObjectURL(href), 10_000);
}
