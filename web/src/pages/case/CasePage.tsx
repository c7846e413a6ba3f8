// One case, as every role that may see it sees it: who and what, where it stands, its story, the report,
// and the panels of the person looking (county doctor, reader, coordinator).
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router-dom";

import { allows, allowsAny, type ReferralAction } from "../../api/allowedActions";
import { useAudit, useHospitalName, useReaders, useReferral } from "../../api/hooks";
import type { AuditEvent, Me, ReferralDetail } from "../../api/types";
import { useMe } from "../../auth/session";
import { PriorityBadge, SlaBadge, StateBadge } from "../../components/Badges";
import { ErrorMessage, Loading } from "../../components/ErrorMessage";
import { HOME } from "../../components/Shell";
import { ReportView, signedReports } from "../../components/ReportView";
import { Timeline, namesFromAudit } from "../../components/Timeline";
import { SimilarCases } from "../search/SimilarCases";
import { formatDateTime } from "../../i18n/format";
import { RequestConsult } from "../consult/RequestConsult";
import { AuditTrailTable } from "../coordination/AuditTrailTable";
import { ReassignPanel } from "../coordination/ReassignPanel";
import { AddendumPanel } from "./AddendumPanel";
import { AcknowledgePanel, CancelPanel, NeedsInfoPanel, QuestionPanel, openQuestion, openRetake } from "./CountyActions";
import { FlagButton, canFlag } from "../teaching/FlagButton";
import { PatientSlip } from "./PatientSlip";

function CaseHeader({ referral, names }: { referral: ReferralDetail; names: Record<string, string> }) {
  const { t, i18n } = useTranslation("county");
  const hospital = useHospitalName();
  const person = (id: string | null) => (id ? (names[id] ?? id) : t("case.nobody"));
  const p = referral.patient;
  return (
    <section className="card case-header" aria-label={t("case.title", { id: referral.id })}>
      <div className="row badges">
        <StateBadge state={referral.state} />
        <PriorityBadge priority={referral.priority} />
        {referral.sla_status !== "n/a" && <SlaBadge referral={referral} />}
        {referral.difficult && <span className="badge">{t("case.difficult")}</span>}
        {referral.critical && <span className="badge critical-dot">{t("case.critical")}</span>}
      </div>
      <div className="grid3 case-facts">
        <dl className="facts">
          <dt>{t("case.patient")}</dt>
          <dd>
            <strong>{p?.name ?? referral.patient_ref}</strong>
            {p && (
              <div className="small">
                {p.patient_id} · {t(`case.sexLabel.${p.sex}`)} · {p.birth_date}
              </div>
            )}
          </dd>
          <dt>{t("case.study")}</dt>
          <dd>
            {referral.modality} · {referral.body_part}
            <div className="small muted mono break">{referral.study_instance_uid}</div>
          </dd>
        </dl>
        <dl className="facts">
          <dt>{t("case.requestingHospital")}</dt>
          <dd>{hospital(referral.requesting_hospital_id)}</dd>
          <dt>{t("case.readingHospital")}</dt>
          <dd>{hospital(referral.reading_hospital_id)}</dd>
          <dt>{t("case.submitted")}</dt>
          <dd>
            <time dateTime={referral.submitted_at}>{formatDateTime(referral.submitted_at, i18n.language)}</time>
          </dd>
        </dl>
        <dl className="facts" aria-label={t("case.people")}>
          <dt>{t("case.offeredTo")}</dt>
          <dd data-testid="offered-to">{person(referral.offered_to)}</dd>
          <dt>{t("case.reader")}</dt>
          <dd data-testid="reader">{person(referral.reader_id)}</dd>
          <dt>{t("case.secondReader")}</dt>
          <dd data-testid="second-reader">{person(referral.second_reader_id)}</dd>
        </dl>
      </div>
      <h2>{t("case.question")}</h2>
      <p className="report-text clinical-question">{referral.clinical_question}</p>
    </section>
  );
}

function SlipPanel({ me, referral }: { me: Me; referral: ReferralDetail }) {
  const hospital = useHospitalName();
  // The county's doctors (the only county role that sees the case) hand the patient a slip once it is signed;
  // the share-link route refuses anyone else.
  if (me.role !== "county_doctor" || !referral.final_at) return null;
  const final = signedReports(referral.reports)[0];
  return (
    <PatientSlip
      referralId={referral.id}
      patientName={referral.patient?.name ?? ""}
      hospital={hospital(referral.requesting_hospital_id)}
      reportDate={referral.final_at ?? final?.created_at ?? null}
    />
  );
}

export function RolePanels({ me, referral, events }: { me: Me; referral: ReferralDetail; events: AuditEvent[] }) {
  const { t } = useTranslation("county");
  // Exactly the actions the server offers this person now (referral.allowed_actions).
  const can = (action: ReferralAction) => allows(referral, action);
  // The reading workspace opens for the reader's own case, and for whoever may take it or review it.
  const workspace =
    referral.reader_id === me.id || allowsAny(referral, "accept", "save_draft", "approve", "request_changes");
  return (
    <>
      {workspace && (
        <p className="no-print">
          <Link to={`/read/${referral.id}`} className="button primary">
            {t("case.openWorkspace")}
          </Link>
        </p>
      )}
      {can("correct_question") && <QuestionPanel referralId={referral.id} question={referral.clinical_question} />}
      {can("provide_info") && <NeedsInfoPanel referralId={referral.id} question={openQuestion(events)} retake={openRetake(events)} />}
      {(can("acknowledge_receipt") || can("acknowledge_critical")) && (
        <AcknowledgePanel
          referralId={referral.id}
          receipt={can("acknowledge_receipt")}
          critical={can("acknowledge_critical")}
        />
      )}
      {canFlag(me, referral) && <FlagButton referralId={referral.id} />}
      {can("reassign") && <ReassignPanel referral={referral} />}
      {can("cancel") && <CancelPanel referralId={referral.id} />}
      {can("add_addendum") && <AddendumPanel referralId={referral.id} />}
    </>
  );
}

export default function CasePage() {
  const { id = "" } = useParams();
  const { t } = useTranslation("county");
  const me = useMe();
  const referral = useReferral(id);
  const audit = useAudit(id);
  // Coordinators may list the case's readers (same cache as the reassign panel): names for "who has it".
  const readers = useReaders(id, me.role === "coordinator");
  if (referral.isLoading) return <Loading />;
  if (referral.error || !referral.data)
    return <ErrorMessage error={referral.error ?? t("common:error.notFound")} onRetry={() => void referral.refetch()} />;
  const data = referral.data;
  const events = audit.data?.items ?? [];
  const readerNames = Object.fromEntries((readers.data ?? []).map((r) => [r.id, r.display_name]));
  const names = { ...readerNames, ...namesFromAudit(events), [me.id]: me.name };
  return (
    <div className="case-page">
      <div className="row between no-print">
        <h1>{t("case.title", { id: data.id })}</h1>
        <Link to={HOME[me.role]}>{t("case.back")}</Link>
      </div>
      <div className="split">
        <div>
          <CaseHeader referral={data} names={names} />
          <RolePanels me={me} referral={data} events={events} />
          <ReportView reports={data.reports} />
          <SimilarCases referralId={data.id} signed={data.reports.some((r) => r.kind === "final")} />
          <SlipPanel me={me} referral={data} />
          {me.role !== "admin" && <RequestConsult referral={data} />}
          {/* The coordinator answers for the case's record: every event in a table, exportable as CSV. */}
          {me.role === "coordinator" && <AuditTrailTable referralId={data.id} />}
        </div>
        <section className="card no-print" aria-labelledby="timeline-title">
          <h2 id="timeline-title">{t("case.timeline")}</h2>
          {audit.isLoading && <Loading />}
          <ErrorMessage error={audit.error} onRetry={() => void audit.refetch()} />
          {audit.data && <Timeline events={events} names={names} />}
        </section>
      </div>
    </div>
  );
}
