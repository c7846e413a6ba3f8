// Why a patient's link did not open, as one of the few things a patient needs told apart.
import { ApiError } from "../../api/client";

export type ShareErrorKind =
  | "expired"
  | "revoked"
  | "wrongBirthDate"
  | "notFound"
  | "locked"
  | "invalid"
  | "network"
  | "other";

const BY_CODE: Record<string, ShareErrorKind> = {
  share_link_expired: "expired",
  share_link_revoked: "revoked",
  wrong_second_factor: "wrongBirthDate",
  not_found: "notFound",
  share_link_locked: "locked",
  validation_failed: "invalid",
  network_error: "network",
};

/** The kind of refusal from POST /api/share/{token} (src/yilian/api/share.py), by error code, then by status. */
export function shareErrorKind(error: unknown): ShareErrorKind {
  if (!(error instanceof ApiError)) return "other";
  const byCode = BY_CODE[error.code];
  if (byCode) return byCode;
  if (error.status === 404) return "notFound";
  if (error.status === 403) return "wrongBirthDate";
  if (error.status === 429) return "locked";
  if (error.status === 422) return "invalid";
  return "other";
}
