// The coordinator's hand on a case: name the next reader, or send it back to automatic routing, with a reason.
// Shown only where the server's RULES allow REASSIGN/REROUTE (src/yilian/domain/referral.py); the server still
// decides, and its refusal is shown in its own words.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useId, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";

import { get, post } from "../../api/client";
import type { ReferralDetail, ReferralState } from "../../api/types";
import { ErrorMessage, Loading } from "../../components/ErrorMessage";

export { AuditTrailTable } from "./AuditTrailTable";

/** RULES[REASSIGN].from_states == RULES[REROUTE].from_states. */
export const REASSIGNABLE_STATES: readonly ReferralState[] = [
  "submitted",
  "offered",
  "in_reading",
  "needs_info",
  "changes_requested",
];

export function canReassign(state: ReferralState): boolean {
  return REASSIGNABLE_STATES.includes(state);
}

export interface Reader {
  id: string;
  display_name: string;
  role: "expert" | "senior";
  title: string;
  is_junior: boolean;
  on_duty: boolean;
  subspecialties: { modality: string; body_part: string }[];
  open_cases: number;
}

export interface ReassignInput {
  expert_id?: string;
  reason: string;
}

const AUTOMATIC = "";

export function ReassignForm({
  readers,
  currentReader,
  pending,
  error,
  done,
  onSubmit,
}: {
  readers: Reader[];
  currentReader: string | null;
  pending: boolean;
  error: unknown;
  done: boolean;
  onSubmit: (input: ReassignInput) => void;
}) {
  const { t } = useTranslation("coordination");
  const [target, setTarget] = useState(AUTOMATIC);
  const [reason, setReason] = useState("");
  const [reasonMissing, setReasonMissing] = useState(false);
  const ids = useId();
  // A reason belongs to one reassignment: once it is done, the next one starts blank.
  useEffect(() => {
    if (done) setReason("");
  }, [done]);
  const reasonError = `${ids}-reason-error`;

  function submit(event: FormEvent) {
    event.preventDefault();
    if (!reason.trim()) {
      setReasonMissing(true);
      return;
    }
    setReasonMissing(false);
    onSubmit(target === AUTOMATIC ? { reason: reason.trim() } : { expert_id: target, reason: reason.trim() });
  }

  const describe = (r: Reader) => {
    const parts = [r.title, t(`common:role.${r.role}`)];
    if (r.is_junior) parts.push(t("reassign.junior"));
    parts.push(r.on_duty ? t("common:session.onDuty") : t("common:session.offDuty"));
    parts.push(t("reassign.openCases", { n: r.open_cases }));
    const subs = r.subspecialties.map((s) => `${s.modality} ${s.body_part}`).join(", ");
    if (subs) parts.push(subs);
    return `${r.display_name}${r.id === currentReader ? ` (${t("reassign.current")})` : ""} — ${parts.filter(Boolean).join(" · ")}`;
  };

  return (
    <form onSubmit={submit} noValidate>
      {/* label for, not around: the options must not become part of the label's text */}
      <label htmlFor={`${ids}-to`}>{t("reassign.to")}</label>
      <select id={`${ids}-to`} className="reassign-to" value={target} onChange={(e) => setTarget(e.target.value)}>
        <option value={AUTOMATIC}>{t("reassign.automatic")}</option>
        {readers.map((r) => (
          <option key={r.id} value={r.id}>
            {describe(r)}
          </option>
        ))}
      </select>
      {readers.length === 0 && <p className="muted small">{t("reassign.noReaders")}</p>}
      <label>
        {t("reassign.reason")}
        <textarea
          value={reason}
          required
          maxLength={2000}
          aria-invalid={reasonMissing}
          aria-describedby={reasonMissing ? reasonError : undefined}
          onChange={(e) => setReason(e.target.value)}
        />
      </label>
      {reasonMissing && (
        <p id={reasonError} role="alert" className="error small">
          {t("reassign.reasonRequired")}
        </p>
      )}
      <ErrorMessage error={error} />
      {done && (
        <p role="status" className="success">
          {t("reassign.done")}
        </p>
      )}
      <button type="submit" className="primary" disabled={pending}>
        {pending ? t("reassign.pending") : t("reassign.submit")}
      </button>
    </form>
  );
}

function ReassignBody({ referral }: { referral: ReferralDetail }) {
  const { t } = useTranslation("coordination");
  const client = useQueryClient();
  const readers = useQuery({
    queryKey: ["readers", referral.id],
    queryFn: () => get<Reader[]>(`/api/readers?referral_id=${encodeURIComponent(referral.id)}`),
  });
  const reassign = useMutation({
    mutationFn: (input: ReassignInput) => post(`/api/referrals/${referral.id}/reassign`, { ...input }),
    onSuccess: () => {
      for (const key of [["referral", referral.id], ["audit", referral.id], ["readers", referral.id], ["referrals"], ["dashboard"]]) {
        void client.invalidateQueries({ queryKey: key });
      }
    },
  });
  return (
    <>
      {readers.isLoading && <Loading />}
      {readers.error && <ErrorMessage error={readers.error} onRetry={() => void readers.refetch()} />}
      <ReassignForm
        key={referral.state /* a state change from elsewhere starts the form afresh */}
        readers={readers.data ?? []}
        currentReader={referral.reader_id ?? referral.offered_to}
        pending={reassign.isPending}
        error={reassign.error}
        done={reassign.isSuccess}
        onSubmit={(input) => reassign.mutate(input)}
      />
      <p className="muted small">{t("reassign.hint")}</p>
    </>
  );
}

export function ReassignPanel({ referral }: { referral: ReferralDetail }) {
  const { t } = useTranslation("coordination");
  // The case page renders this for coordinators only; the state decides whether there is anything to do.
  if (!canReassign(referral.state)) return null;
  return (
    <section className="card reassign-panel" aria-labelledby="reassign-heading">
      <h2 id="reassign-heading">{t("reassign.title")}</h2>
      <ReassignBody referral={referral} />
    </section>
  );
}
