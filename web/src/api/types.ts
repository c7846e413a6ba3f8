// The API's shapes as the screens name them. Every type is generated from the API's OpenAPI document
// (./generated/schema.ts, `make api-client`); this module only picks the names the screens use and says which
// referral states count as open (the server's OPEN_STATE_VALUES).
import { priorityValues, referralStateValues, type Priority, type ReferralState } from "./generated/schema";

export type {
  AuditEvent,
  Discrepancy,
  Hospital,
  Me,
  Patient,
  Priority,
  Referral,
  ReferralDetail,
  ReferralState,
  ReportVersion,
  SlaStatus,
  StaffRole,
} from "./generated/schema";

export const OPEN_STATES: ReferralState[] = [
  "submitted",
  "awaiting_images",
  "offered",
  "in_reading",
  "needs_info",
  "preliminary",
  "changes_requested",
];
export const ALL_STATES: readonly ReferralState[] = referralStateValues;
export const PRIORITIES: readonly Priority[] = priorityValues;
