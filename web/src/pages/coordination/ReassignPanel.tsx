// The coordinator's hand on a case: name the next reader, or send it back to automatic routing, with a reason.
// Shown only where the server offers `reassign` in the case's allowed_actions (rerouting has the same rule); the
// server still decides, and its refusal is shown in its own words.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect, useId, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";

import { allows } from "../../api/allowedActions";
import { api, ok } from "../../api/client";
import type { ReassignBody as ReassignInput, Reader } from "../../api/generated/schema";
import { useReaders } from "../../api/hooks";
import type { ReferralDetail } from "../../api/types";
import { ErrorMessage, Loading } from "../../components/ErrorMessage";

export { AuditTrailTable } from "./AuditTrailTable";

export type { Reader, ReassignInput };

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
  const readers = useReaders(referral.id);
  const reassign = useMutation({
    mutationFn: (body: ReassignInput) =>
      ok(api.POST("/api/referrals/{referral_id}/reassign", { params: { path: { referral_id: referral.id } }, body })),
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
  if (!allows(referral, "reassign")) return null;
  return (
    <section className="card reassign-panel" aria-labelledby="reassign-heading">
      <h2 id="reassign-heading">{t("reassign.title")}</h2>
      <ReassignBody referral={referral} />
    </section>
  );
}
