// Retention (docs/retention.md): the policies in force and a form to raise one; a study's retention by its UID, its
// encounter type, legal holds placed and released, the guarded deletion (a refusal says why and until when), and the
// study's retention trail.
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";

import { ApiError } from "../../api/client";
import { ErrorMessage, Loading } from "../../components/ErrorMessage";
import { useFormatDate } from "../../i18n/format";
import { useAdminHospitals } from "./adminApi";
import { ConfirmButton } from "./formParts";
import {
  ENCOUNTER_TYPES,
  useDeleteStudy,
  usePlaceHold,
  useReleaseHold,
  useRetentionPolicies,
  useRetentionTrail,
  useSetEncounter,
  useSetPolicy,
  useStudyRetention,
  type EncounterType,
  type LegalHold,
  type StudyRetention,
} from "./retentionApi";

export default function RetentionTab() {
  const { t } = useTranslation("admin");
  const [uid, setUid] = useState("");
  const [draft, setDraft] = useState("");
  return (
    <section aria-labelledby="retention-heading" className="retention">
      <h2 id="retention-heading">{t("tabs.retention")}</h2>
      <Policies />
      <form
        className="filters"
        aria-label={t("retention.lookUp")}
        onSubmit={(e) => {
          e.preventDefault();
          setUid(draft.trim());
        }}
      >
        <label>
          {t("retention.studyUid")} <input value={draft} onChange={(e) => setDraft(e.target.value)} size={50} />
        </label>{" "}
        <button type="submit">{t("retention.lookUp")}</button>
      </form>
      {uid && <Study uid={uid} key={uid} />}
    </section>
  );
}

function Policies() {
  const { t } = useTranslation("admin");
  const policies = useRetentionPolicies();
  const hospitals = useAdminHospitals();
  const save = useSetPolicy();
  const [hospital, setHospital] = useState("");
  const [encounter, setEncounter] = useState<EncounterType>("outpatient");
  const [years, setYears] = useState(15);
  const name = (id: string | null) => (id ? hospitals.data?.find((h) => h.id === id)?.name ?? id : t("retention.alliance"));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate({ hospital_id: hospital || null, encounter_type: encounter, years });
  };
  return (
    <>
      <h3>{t("retention.policies")}</h3>
      {policies.isLoading && <Loading />}
      <ErrorMessage error={policies.error} onRetry={() => void policies.refetch()} />
      {!!policies.data?.length && (
        <table className="responsive retention-policies">
          <thead>
            <tr>
              <th scope="col">{t("retention.scope")}</th>
              <th scope="col">{t("retention.encounter")}</th>
              <th scope="col">{t("retention.years")}</th>
              <th scope="col">{t("retention.minimum")}</th>
              <th scope="col">{t("retention.source")}</th>
            </tr>
          </thead>
          <tbody>
            {policies.data.map((p) => (
              <tr key={`${p.hospital_id ?? "*"}-${p.encounter_type}`}>
                <td data-label={t("retention.scope")}>{name(p.hospital_id)}</td>
                <td data-label={t("retention.encounter")}>{t(`retention.encounters.${p.encounter_type}`)}</td>
                <td data-label={t("retention.years")}>{p.years}</td>
                <td data-label={t("retention.minimum")}>{p.minimum_years}</td>
                <td data-label={t("retention.source")}>{t(`retention.sources.${p.source}`)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form className="filters" aria-label={t("retention.setPolicy")} onSubmit={submit}>
        <label>
          {t("retention.scope")}{" "}
          <select value={hospital} onChange={(e) => setHospital(e.target.value)}>
            <option value="">{t("retention.alliance")}</option>
            {hospitals.data?.map((h) => (
              <option key={h.id} value={h.id}>
                {h.name}
              </option>
            ))}
          </select>
        </label>{" "}
        <EncounterSelect value={encounter} onChange={setEncounter} />{" "}
        <label>
          {t("retention.years")}{" "}
          <input type="number" min={1} max={100} value={years} onChange={(e) => setYears(Number(e.target.value))} />
        </label>{" "}
        <button type="submit" disabled={save.isPending}>
          {t("retention.setPolicy")}
        </button>
      </form>
      <ErrorMessage error={save.error} />
    </>
  );
}

function EncounterSelect({ value, onChange }: { value: EncounterType; onChange: (v: EncounterType) => void }) {
  const { t } = useTranslation("admin");
  return (
    <label>
      {t("retention.encounter")}{" "}
      <select value={value} onChange={(e) => onChange(e.target.value as EncounterType)}>
        {ENCOUNTER_TYPES.map((k) => (
          <option key={k} value={k}>
            {t(`retention.encounters.${k}`)}
          </option>
        ))}
      </select>
    </label>
  );
}

function Study({ uid }: { uid: string }) {
  const { t } = useTranslation("admin");
  const study = useStudyRetention(uid);
  const remove = useDeleteStudy(uid);
  if (study.isLoading) return <Loading />;
  if (remove.isSuccess) return <p role="status">{t("retention.deleted", { count: remove.data.instances })}</p>;
  if (study.error) return <ErrorMessage error={study.error} />;
  if (!study.data) return null;
  const s = study.data;
  return (
    <article aria-label={t("retention.study")}>
      <StudyFacts study={s} />
      <Holds uid={uid} holds={s.holds} />
      <h3>{t("retention.delete")}</h3>
      <ConfirmButton
        label={t("retention.delete")}
        question={t("retention.confirmDelete", { count: s.instances })}
        confirmLabel={t("retention.confirmDeleteYes")}
        onConfirm={() => remove.mutate(undefined)}
        pending={remove.isPending}
      />
      <Refusal error={remove.error} />
      <Trail uid={uid} />
    </article>
  );
}

function StudyFacts({ study: s }: { study: StudyRetention }) {
  const { t } = useTranslation("admin");
  const when = useFormatDate();
  const setEncounter = useSetEncounter(s.study_instance_uid);
  return (
    <>
      <dl className="facts">
        <dt>{t("retention.hospital")}</dt>
        <dd>{s.hospital_id}</dd>
        <dt>{t("retention.encounter")}</dt>
        <dd>
          {t(`retention.encounters.${s.encounter_type}`)}
          {!s.encounter_type_recorded && <span className="muted"> ({t("retention.unrecorded")})</span>}
        </dd>
        <dt>{t("retention.years")}</dt>
        <dd>
          {s.years} ({t(`retention.sources.${s.policy}`)})
        </dd>
        <dt>{t("retention.countedFrom")}</dt>
        <dd>{when(s.counted_from, "date")}</dd>
        <dt>{t("retention.retainUntil")}</dt>
        <dd>{when(s.retain_until, "date")}</dd>
        <dt>{t("retention.status")}</dt>
        <dd>
          {s.deletable
            ? t("retention.deletable")
            : s.blocked_by.map((code) => t(`retention.blocked.${code}`, { date: when(s.retain_until, "date") })).join("; ")}
        </dd>
      </dl>
      <EncounterSelect value={s.encounter_type} onChange={(v) => setEncounter.mutate(v)} />
      <ErrorMessage error={setEncounter.error} />
    </>
  );
}

function Holds({ uid, holds }: { uid: string; holds: LegalHold[] }) {
  const { t } = useTranslation("admin");
  const when = useFormatDate();
  const place = usePlaceHold(uid);
  const release = useReleaseHold();
  const [reason, setReason] = useState("");
  const [reference, setReference] = useState("");
  return (
    <>
      <h3>{t("retention.holds")}</h3>
      {holds.length === 0 && <p className="muted">{t("retention.noHolds")}</p>}
      <ul>
        {holds.map((h) => (
          <li key={h.id}>
            <strong>{h.active ? t("retention.holdActive") : t("retention.holdReleased")}</strong> {h.reason}
            {h.case_reference && <code> {h.case_reference}</code>} · {h.placed_by} {when(h.placed_at, "dateTime")}
            {h.active && (
              <button
                type="button"
                onClick={() => release.mutate({ id: h.id, reason: reason || t("retention.releasedDefault") })}
                disabled={release.isPending}
              >
                {t("retention.release")}
              </button>
            )}
          </li>
        ))}
      </ul>
      <form
        className="filters"
        aria-label={t("retention.placeHold")}
        onSubmit={(e) => {
          e.preventDefault();
          place.mutate({ reason, case_reference: reference });
        }}
      >
        <label>
          {t("retention.reason")} <input value={reason} onChange={(e) => setReason(e.target.value)} required />
        </label>{" "}
        <label>
          {t("retention.caseReference")} <input value={reference} onChange={(e) => setReference(e.target.value)} />
        </label>{" "}
        <button type="submit" disabled={place.isPending}>
          {t("retention.placeHold")}
        </button>
      </form>
      <ErrorMessage error={place.error ?? release.error} />
    </>
  );
}

/** A refused deletion in our words: why, and until when (the server's details carry the date). */
function Refusal({ error }: { error: unknown }) {
  const { t } = useTranslation("admin");
  const when = useFormatDate();
  if (!(error instanceof ApiError) || error.status !== 409) return <ErrorMessage error={error} />;
  const details = (error.details ?? {}) as { retain_until?: string };
  return (
    <p role="alert" className="error">
      {t(`retention.refused.${error.code}`, {
        defaultValue: error.message,
        date: details.retain_until ? when(details.retain_until, "date") : "",
      })}
    </p>
  );
}

function Trail({ uid }: { uid: string }) {
  const { t } = useTranslation("admin");
  const when = useFormatDate();
  const trail = useRetentionTrail(uid);
  return (
    <>
      <h3>{t("retention.trail")}</h3>
      <ErrorMessage error={trail.error} />
      <ul className="retention-trail">
        {trail.data?.map((e) => (
          <li key={e.id}>
            {when(e.at, "dateTimeSeconds")} · {e.actor_id} · {t(`retention.actions.${e.action}`)}
          </li>
        ))}
      </ul>
    </>
  );
}
