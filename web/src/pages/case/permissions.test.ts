import type { AuditEvent, Me, Referral } from "../../api/types";
import { caseActions, openQuestion } from "./permissions";

const me = (role: Me["role"], id = "u1", hospital_id: string | null = "h-county"): Me => ({
  id,
  name: id,
  role,
  hospital_id,
  title: "",
  on_duty: true,
  licensed_for: [],
});
type Case = Pick<Referral, "state" | "requesting_hospital_id" | "reading_hospital_id" | "offered_to" | "reader_id" | "critical_open">;
const base: Case = {
  state: "submitted",
  requesting_hospital_id: "h-county",
  reading_hospital_id: "h-prov",
  offered_to: null,
  reader_id: null,
  critical_open: false,
};

test("the referring doctor may cancel only before reading, and another county may not", () => {
  expect(caseActions(me("county_doctor"), { ...base, state: "offered" }).cancel).toBe(true);
  expect(caseActions(me("county_doctor"), { ...base, state: "in_reading" }).cancel).toBe(false);
  expect(caseActions(me("county_doctor", "u2", "h-other"), base).cancel).toBe(false);
});

test("receipt is acknowledged on returned or amended; the slip once the report is signed", () => {
  const doc = me("county_doctor");
  expect(caseActions(doc, { ...base, state: "returned" }).acknowledgeReceipt).toBe(true);
  expect(caseActions(doc, { ...base, state: "final" }).acknowledgeReceipt).toBe(false);
  expect(caseActions(doc, { ...base, state: "closed" }).patientSlip).toBe(true);
  expect(caseActions(doc, { ...base, state: "preliminary" }).patientSlip).toBe(false);
});

test("the workspace opens for the offered expert, the reader, and a second reader of a preliminary", () => {
  expect(caseActions(me("expert", "e1", "h-prov"), { ...base, state: "offered", offered_to: "e1" }).workspace).toBe(true);
  expect(caseActions(me("expert", "e2", "h-prov"), { ...base, state: "offered", offered_to: "e1" }).workspace).toBe(false);
  const prelim = { ...base, state: "preliminary" as const, reader_id: "e1" };
  expect(caseActions(me("senior", "s1", "h-prov"), prelim).workspace).toBe(true);
  expect(caseActions(me("senior", "e1", "h-prov"), prelim).workspace).toBe(true); // as the reader
  expect(caseActions(me("senior", "s1", "h-other"), prelim).workspace).toBe(false);
});

test("the open question is the latest request_info", () => {
  const ev = (seq: number, action: string, request: string): AuditEvent => ({
    referral_id: "r",
    seq,
    action,
    from_state: null,
    to_state: "needs_info",
    actor_id: "e1",
    actor_role: "expert",
    actor_hospital_id: "h-prov",
    at: "",
    details: { request },
  });
  expect(openQuestion([ev(2, "request_info", "first"), ev(5, "request_info", "second"), ev(6, "provide_info", "x")])).toBe("second");
  expect(openQuestion([])).toBeNull();
});
