// A teaching case (/teaching/:id). Learners read the curation beside the de-identified images; educators also get
// the curation form, the de-identification check, the case's trail and its follow-ups.
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router-dom";

import { useSession } from "../../auth/session";
import { ErrorMessage, Loading } from "../../components/ErrorMessage";
import { formatDateTime } from "../../i18n/format";
import { CurationForm } from "./CurationForm";
import { DeidentificationCheck } from "./Deidentification";
import { useTeachingCase, viewerUrl, type TeachingCaseDetail } from "./api";

export function CaseSummary({ teachingCase }: { teachingCase: TeachingCaseDetail }) {
  const { t } = useTranslation("teaching");
  const c = teachingCase.curation;
  return (
    <section className="card case-summary" aria-labelledby="summary-title">
      <h2 id="summary-title">{c.title}</h2>
      <dl className="facts">
        <dt>{t("case.diagnosis")}</dt>
        <dd data-testid="teaching-diagnosis">
          {c.diagnosis} {c.icd10 && <span className="muted">({t("case.icd10")} {c.icd10})</span>}
        </dd>
        {c.differential.length > 0 && (
          <>
            <dt>{t("case.differential")}</dt>
            <dd>{c.differential.join("；")}</dd>
          </>
        )}
        <dt>{t("case.certainty")}</dt>
        <dd>{t(`certainty.${c.certainty}`)}</dd>
        <dt>{t("case.difficulty")}</dt>
        <dd>{t(`difficulty.${c.difficulty}`)}</dd>
        {c.tags.length > 0 && (
          <>
            <dt>{t("case.tags")}</dt>
            <dd>{c.tags.join(", ")}</dd>
          </>
        )}
        {c.key_images.length > 0 && (
          <>
            <dt>{t("case.keyImages")}</dt>
            <dd>
              {c.key_images.map((uid) => (
                <code key={uid} className="small">
                  {uid}{" "}
                </code>
              ))}
            </dd>
          </>
        )}
      </dl>
      {c.teaching_points && (
        <>
          <h3 className="h4">{t("case.teachingPoints")}</h3>
          <p className="report-text">{c.teaching_points}</p>
        </>
      )}
    </section>
  );
}

export function Images({ studyUid }: { studyUid: string | null }) {
  const { t } = useTranslation("teaching");
  if (!studyUid) return null;
  const url = viewerUrl(studyUid);
  return (
    <section className="viewer-pane" aria-label={t("case.images")}>
      <iframe title={t("case.images")} className="viewer-frame" src={url} />
      <a className="small" href={url} target="_blank" rel="noreferrer">
        {t("case.openViewer")}
      </a>
    </section>
  );
}

function Trail({ teachingCase }: { teachingCase: TeachingCaseDetail }) {
  const { t, i18n } = useTranslation("teaching");
  return (
    <section className="card" aria-labelledby="trail-title">
      <h2 id="trail-title">{t("case.trail")}</h2>
      <ol className="timeline">
        {teachingCase.events.map((e) => (
          <li key={e.seq}>
            <strong>{t(`action.${e.action}`)}</strong> · {e.actor_name ?? e.actor_id} ·{" "}
            <span className="muted small">{formatDateTime(e.at, i18n.language)}</span>
          </li>
        ))}
      </ol>
      {teachingCase.follow_ups.length > 0 && (
        <>
          <h3 className="h4">{t("case.followUps")}</h3>
          <ul>
            {teachingCase.follow_ups.map((f) => (
              <li key={f.referral_id}>
                {f.referral_id} · {formatDateTime(f.at, i18n.language)}
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

export default function TeachingCasePage() {
  const { id = "" } = useParams();
  const { t } = useTranslation("teaching");
  const { me } = useSession();
  const found = useTeachingCase(id);
  if (found.isPending) return <Loading />;
  if (found.error) return <ErrorMessage error={found.error} onRetry={() => void found.refetch()} />;
  const tc = found.data;
  const educator = me?.role === "educator";
  const waiting = tc.state === "deidentifying" || (tc.state === "nominated" && !tc.allowed_actions.length);
  return (
    <div className="teaching-case">
      <div className="row between">
        <h1>
          {tc.curation.title || tc.id} <span className="badge">{t(`state.${tc.state}`)}</span>
        </h1>
        <Link to="/teaching">{t("case.back")}</Link>
      </div>
      {educator && tc.referral_id && <p className="muted small">{t("case.source", { id: tc.referral_id })}</p>}
      <div className="split">
        <div>
          {tc.state === "published" && tc.study_instance_uid && (
            <p>
              <Link className="button" to={`/teaching/${tc.id}/unknown`}>
                {t("library.unknown")}
              </Link>
            </p>
          )}
          <CaseSummary teachingCase={tc} />
          {educator && waiting && (
            <p role="status" className="muted">
              {t("curate.waiting")}
            </p>
          )}
          {educator && <CurationForm key={`${tc.id}-${tc.version > 0}`} teachingCase={tc} />}
          {educator && tc.deidentification && <DeidentificationCheck deid={tc.deidentification} />}
          {educator && <Trail teachingCase={tc} />}
          {tc.similar.length > 0 && (
            <section className="card">
              <h2>{t("case.similar")}</h2>
              <ul>
                {tc.similar.map((s) => (
                  <li key={s.id}>
                    <Link to={`/teaching/${s.id}`}>{s.curation.title}</Link>
                  </li>
                ))}
              </ul>
            </section>
          )}
        </div>
        <Images studyUid={tc.study_instance_uid} />
      </div>
    </div>
  );
}
