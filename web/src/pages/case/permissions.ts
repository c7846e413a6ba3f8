// Which panels a person sees on a case: the guards of src/yilian/domain/referral.py (RULES), mirrored so that
// an action is only offered where the server would allow it (the server still decides and may refuse).
import type { AuditEvent, Me, Referral, ReferralState } from "../../api/types";

export const REPORTED_STATES: ReferralState[] = ["final", "returned", "closed", "amended"];
const CANCELLABLE: ReferralState[] = ["submitted", "awaiting_images", "offered"];
const RECEIPT: ReferralState[] = ["returned", "amended"];

type Case = Pick<
  Referral,
  "state" | "requesting_hospital_id" | "reading_hospital_id" | "offered_to" | "reader_id" | "critical_open"
>;

export function isReferringDoctor(me: Me, r: Case): boolean {
  return me.role === "county_doctor" && me.hospital_id === r.requesting_hospital_id;
}

export function caseActions(me: Me, r: Case) {
  const referring = isReferringDoctor(me, r);
  const reader = me.role === "expert" || me.role === "senior";
  const secondReader =
    me.role === "senior" && r.state === "preliminary" && me.hospital_id === r.reading_hospital_id && me.id !== r.reader_id;
  return {
    provideInfo: referring && r.state === "needs_info",
    cancel: referring && CANCELLABLE.includes(r.state),
    acknowledgeReceipt: referring && RECEIPT.includes(r.state),
    acknowledgeCritical: referring && r.critical_open,
    patientSlip: referring && REPORTED_STATES.includes(r.state),
    workspace: reader && (me.id === r.offered_to || me.id === r.reader_id || secondReader),
    reassign: me.role === "coordinator",
  };
}

/** The reader's latest question on a needs_info case (the request_info event's comment). */
export function openQuestion(events: AuditEvent[]): string | null {
  const asked = [...events].sort((a, b) => b.seq - a.seq).find((e) => e.action === "request_info");
  const text = asked?.details.request ?? asked?.details.comment;
  return typeof text === "string" ? text : null;
}
