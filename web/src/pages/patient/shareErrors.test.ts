import { ApiError } from "../../api/client";
import { shareErrorKind } from "./shareErrors";

test.each([
  [new ApiError(410, "share_link_expired", "this link has expired"), "expired"],
  [new ApiError(410, "share_link_revoked", "withdrawn"), "revoked"],
  [new ApiError(403, "wrong_second_factor", "the birth date does not match"), "wrongBirthDate"],
  [new ApiError(404, "not_found", "this link is not valid"), "notFound"],
  [new ApiError(429, "share_link_locked", "too many"), "locked"],
  [new ApiError(422, "validation_failed", "bad date"), "invalid"],
  [new ApiError(0, "network_error", "network"), "network"],
  [new ApiError(404, "error", "Not Found"), "notFound"],
  [new ApiError(500, "internal_error", "oops"), "other"],
  [new Error("boom"), "other"],
])("%o is %s", (error, kind) => {
  expect(shareErrorKind(error)).toBe(kind);
});
