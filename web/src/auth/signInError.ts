// Why a sign-in failed, in the reader's language: a wrong password, or the wait after too many of them.
import { ApiError } from "../api/client";
import { errorText } from "../components/ErrorMessage";

/** A wrong password, or the wait after too many (the server says how long in: details.retry_after_seconds). */
export function signInError(error: unknown, t: (key: string, options?: Record<string, unknown>) => string): string {
  if (!(error instanceof ApiError)) return errorText(error, t);
  if (error.status === 401) return t("session.wrong");
  if (error.code === "sign_in_locked") {
    const details = error.details as { retry_after_seconds?: number } | null;
    return t("session.locked", { seconds: details?.retry_after_seconds ?? 60 });
  }
  return errorText(error, t);
}
