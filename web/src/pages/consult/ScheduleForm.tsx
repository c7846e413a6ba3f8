// Scheduling a consult: when, how long, whom (people of any alliance hospital, found by hospital, role and
// specialty), the agenda; for a new consult also its subject and cases (a tumour board lists several).
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";

import { useHospitalName, useHospitals, useReferrals } from "../../api/hooks";
import { ErrorMessage } from "../../components/ErrorMessage";
import consultStrings from "../../i18n/consult";
import { usePeople, type Person, type ScheduleValues } from "./consultApi";

const INVITABLE_ROLES = ["county_doctor", "expert", "senior", "coordinator"] as const;
/** The specialties the directory records (the API filters by these values); each has words in i18n/consult.ts. */
const SPECIALTIES = Object.keys(consultStrings.en.specialty);

/** A `datetime-local` value (the browser's local time) for an ISO instant, and back. */
export function localInput(iso: string | null | undefined): string {
  const d = iso ? new Date(iso) : new Date(Date.now() + 60 * 60_000);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function PersonLine({ person }: { person: Person }) {
  const { t } = useTranslation("consult");
  const hospital = useHospitalName();
  return (
    <>
      <strong>{person.display_name}</strong>{" "}
      <span className="small muted">
        {t(`common:role.${person.role}`)}
        {person.specialty && ` · ${t(`specialty.${person.specialty}`, { defaultValue: person.specialty })}`}
        {person.title && ` · ${person.title}`} · {hospital(person.hospital_id)}
      </span>
    </>
  );
}

function InviteePicker({ invited, onChange }: { invited: Person[]; onChange: (people: Person[]) => void }) {
  const { t } = useTranslation("consult");
  const hospitals = useHospitals();
  const [hospitalId, setHospitalId] = useState("");
  const [role, setRole] = useState("");
  const [specialty, setSpecialty] = useState("");
  const people = usePeople({ hospital_id: hospitalId, role, specialty });
  const ids = new Set(invited.map((p) => p.id));
  return (
    <fieldset className="invitees">
      <legend>{t("form.invitees")}</legend>
      {invited.length === 0 ? (
        <p className="muted small">{t("form.noInvitees")}</p>
      ) : (
        <ul aria-label={t("form.invitees")}>
          {invited.map((p) => (
            <li key={p.id}>
              <PersonLine person={p} />{" "}
              <button type="button" className="link" onClick={() => onChange(invited.filter((x) => x.id !== p.id))}>
                {t("form.uninvite")}
              </button>
            </li>
          ))}
        </ul>
      )}
      <h4>{t("form.find")}</h4>
      <div className="row">
        <label>
          {t("form.hospital")}{" "}
          <select value={hospitalId} onChange={(e) => setHospitalId(e.target.value)}>
            <option value="">{t("form.any")}</option>
            {Object.values(hospitals.data ?? {}).map((h) => (
              <option key={h.id} value={h.id}>
                {h.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("form.role")}{" "}
          <select value={role} onChange={(e) => setRole(e.target.value)}>
            <option value="">{t("form.any")}</option>
            {INVITABLE_ROLES.map((r) => (
              <option key={r} value={r}>
                {t(`common:role.${r}`)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("form.specialty")}{" "}
          <select value={specialty} onChange={(e) => setSpecialty(e.target.value)}>
            <option value="">{t("form.any")}</option>
            {SPECIALTIES.map((s) => (
              <option key={s} value={s}>
                {t(`specialty.${s}`)}
              </option>
            ))}
          </select>
        </label>
      </div>
      {people.error && <ErrorMessage error={people.error} />}
      <ul className="people-found" aria-label={t("form.find")}>
        {(people.data ?? [])
          .filter((p) => !ids.has(p.id))
          .map((p) => (
            <li key={p.id}>
              <PersonLine person={p} />{" "}
              <button type="button" onClick={() => onChange([...invited, p])} aria-label={`${t("form.invite")} ${p.display_name}`}>
                {t("form.invite")}
              </button>
            </li>
          ))}
      </ul>
    </fieldset>
  );
}

function CasePicker({ caseIds, onChange }: { caseIds: string[]; onChange: (ids: string[]) => void }) {
  const { t } = useTranslation("consult");
  const referrals = useReferrals();
  const [pick, setPick] = useState("");
  const label = (id: string) => {
    const r = referrals.data?.items.find((x) => x.id === id);
    return r ? t("form.caseLabel", { modality: r.modality, bodyPart: r.body_part, question: r.clinical_question }) : id;
  };
  return (
    <fieldset>
      <legend>{t("form.cases")}</legend>
      {caseIds.length === 0 ? (
        <p className="muted small">{t("form.noCases")}</p>
      ) : (
        <ul>
          {caseIds.map((id) => (
            <li key={id}>
              {label(id)}{" "}
              <button type="button" className="link" onClick={() => onChange(caseIds.filter((x) => x !== id))}>
                {t("form.uninvite")}
              </button>
            </li>
          ))}
        </ul>
      )}
      <div className="row">
        <select aria-label={t("form.addCase")} value={pick} onChange={(e) => setPick(e.target.value)}>
          <option value="" />
          {(referrals.data?.items ?? [])
            .filter((r) => !caseIds.includes(r.id))
            .map((r) => (
              <option key={r.id} value={r.id}>
                {label(r.id)}
              </option>
            ))}
        </select>
        <button type="button" disabled={!pick} onClick={() => (onChange([...caseIds, pick]), setPick(""))}>
          {t("form.addCase")}
        </button>
      </div>
    </fieldset>
  );
}

export interface ScheduleFormValues extends ScheduleValues {
  title: string;
  case_ids: string[];
}

export function ScheduleForm({
  heading,
  submitLabel,
  initial,
  withSubject = false,
  busy,
  error,
  onSubmit,
  onCancel,
}: {
  heading: string;
  submitLabel: string;
  initial?: { title?: string; case_ids?: string[]; starts_at?: string | null; duration_minutes?: number | null; invitees?: Person[]; agenda?: string };
  withSubject?: boolean;
  busy: boolean;
  error: unknown;
  onSubmit: (values: ScheduleFormValues) => void;
  onCancel?: () => void;
}) {
  const { t } = useTranslation("consult");
  const [title, setTitle] = useState(initial?.title ?? "");
  const [caseIds, setCaseIds] = useState<string[]>(initial?.case_ids ?? []);
  const [startsAt, setStartsAt] = useState(localInput(initial?.starts_at));
  const [duration, setDuration] = useState(initial?.duration_minutes ?? 30);
  const [invitees, setInvitees] = useState<Person[]>(initial?.invitees ?? []);
  const [agenda, setAgenda] = useState(initial?.agenda ?? "");
  const [problem, setProblem] = useState<string | null>(null);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const when = new Date(startsAt);
    if (Number.isNaN(when.getTime()) || when.getTime() < Date.now() - 60_000) return setProblem(t("form.needTime"));
    if (invitees.length === 0) return setProblem(t("form.needInvitee"));
    setProblem(null);
    onSubmit({
      title: title.trim(),
      case_ids: caseIds,
      starts_at: when.toISOString(),
      duration_minutes: duration,
      invitee_ids: invitees.map((p) => p.id),
      agenda,
    });
  };

  return (
    <form className="card schedule-form" onSubmit={submit} aria-label={heading}>
      <h2>{heading}</h2>
      {withSubject && (
        <>
          <label className="field">
            {t("form.subject")}
            <input required maxLength={200} value={title} onChange={(e) => setTitle(e.target.value)} />
          </label>
          <CasePicker caseIds={caseIds} onChange={setCaseIds} />
        </>
      )}
      <div className="row">
        <label className="field">
          {t("form.startsAt")}
          <input type="datetime-local" required value={startsAt} onChange={(e) => setStartsAt(e.target.value)} />
        </label>
        <label className="field">
          {t("form.duration")}
          <input
            type="number"
            min={5}
            max={480}
            step={5}
            required
            value={duration}
            onChange={(e) => setDuration(Number(e.target.value))}
          />
        </label>
      </div>
      <InviteePicker invited={invitees} onChange={setInvitees} />
      <label className="field">
        {t("form.agenda")}
        <textarea rows={3} maxLength={4000} value={agenda} onChange={(e) => setAgenda(e.target.value)} />
      </label>
      {problem && (
        <p role="alert" className="error">
          {problem}
        </p>
      )}
      <ErrorMessage error={error} />
      <div className="row">
        <button type="submit" className="primary" disabled={busy}>
          {submitLabel}
        </button>
        {onCancel && (
          <button type="button" onClick={onCancel}>
            {t("form.cancel")}
          </button>
        )}
      </div>
    </form>
  );
}
