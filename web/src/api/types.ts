// Shapes of the API's JSON, as the screens use them (the server is the authority; see /docs for OpenAPI).
export type Role = "county_doctor" | "expert" | "senior" | "coordinator" | "admin" | "patient";
export type Priority = "stat" | "urgent" | "routine";
export type Discrepancy = "agree" | "minor" | "major";
export type SlaStatus = "on_track" | "at_risk" | "breached" | "paused" | "met" | "n/a";
export type ReferralState =
  | "submitted"
  | "awaiting_images"
  | "offered"
  | "in_reading"
  | "needs_info"
  | "preliminary"
  | "changes_requested"
  | "final"
  | "returned"
  | "closed"
  | "amended"
  | "cancelled";

export const OPEN_STATES: ReferralState[] = [
  "submitted",
  "awaiting_images",
  "offered",
  "in_reading",
  "needs_info",
  "preliminary",
  "changes_requested",
];
export const ALL_STATES: ReferralState[] = [...OPEN_STATES, "final", "returned", "closed", "amended", "cancelled"];
export const PRIORITIES: Priority[] = ["stat", "urgent", "routine"];

export interface Me {
  id: string;
  name: string;
  role: Role;
  hospital_id: string | null;
  title: string;
  on_duty: boolean;
  licensed_for: string[];
}

export interface Referral {
  id: string;
  requesting_hospital_id: string;
  reading_hospital_id: string;
  agreement_id: string;
  patient_ref: string;
  study_instance_uid: string;
  modality: string;
  body_part: string;
  clinical_question: string;
  priority: Priority;
  difficult: boolean;
  submitted_by: string;
  submitted_at: string;
  state: ReferralState;
  offered_to: string | null;
  reader_id: string | null;
  second_reader_id: string | null;
  sla_target_minutes: number;
  sla_due_at: string | null;
  sla_warn_at: string | null;
  sla_paused: boolean;
  warned: boolean;
  breached: boolean;
  escalated: boolean;
  critical: boolean;
  critical_open: boolean;
  report_version: number;
  preliminary_at: string | null;
  final_at: string | null;
  closed_at: string | null;
  signer_id: string | null;
  discrepancy: Discrepancy | null;
  seq: number;
  updated_at: string;
  sla_status: SlaStatus;
}

export interface Patient {
  patient_id: string;
  issuer: string;
  name: string;
  birth_date: string;
  sex: "M" | "F" | "O";
}

export interface ReportVersion {
  referral_id: string;
  version: number;
  kind: string;
  author_id: string;
  author_role: string;
  author_name: string;
  findings: string;
  impression: string;
  structured: Record<string, string>;
  critical: boolean;
  critical_note: string;
  created_at: string;
}

export interface ReferralDetail extends Referral {
  patient: Patient;
  reports: ReportVersion[];
}

export interface AuditEvent {
  referral_id: string;
  seq: number;
  action: string;
  from_state: string | null;
  to_state: string;
  actor_id: string;
  actor_role: string;
  actor_hospital_id: string | null;
  actor_name?: string;
  at: string;
  details: Record<string, unknown>;
}

export interface Hospital {
  id: string;
  name: string;
  level: "tertiary" | "county" | "township";
}

export interface Page<T> {
  items: T[];
  limit?: number;
  offset?: number;
  total?: number;
}
