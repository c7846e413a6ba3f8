// One lecture (/lectures/:id): what it is, registering, the live stream or the replay, questions, the quiz and
// the viewer's own minutes and credit; the organiser's and speaker's buttons come from allowed_actions.
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router-dom";

import { useMe } from "../../auth/session";
import { ErrorMessage, Loading } from "../../components/ErrorMessage";
import { formatDateTime } from "../../i18n/format";
import { allows, useLecture, useLectureActions, useQuestions, type LectureDetail } from "./api";
import { LectureStateBadge } from "./Catalogue";
import { Player } from "./Player";

const QA_STATES = ["scheduled", "live"];
const QUIZ_STATES = ["live", "ended", "published"];

function Standing({ lecture }: { lecture: LectureDetail }) {
  const { t } = useTranslation("lecture");
  const s = lecture.standing;
  const minutes = (s.watched_seconds / 60).toFixed(1);
  const percent = Math.round(lecture.threshold * 100);
  return (
    <section className="card" aria-labelledby="standing">
      <h2 id="standing">{t("detail.standing")}</h2>
      <p className="small">
        {t(lecture.has_quiz ? "detail.creditRule" : "detail.creditRuleNoQuiz", { credit: lecture.credit, percent })}
      </p>
      <p data-testid="watched">
        {lecture.recorded_seconds > 0
          ? t("detail.watched", { minutes, percent: Math.round(s.watched_share * 100) })
          : t("detail.watchedLive", { minutes })}
      </p>
      {s.credit !== null && (
        <p className="ok" data-testid="credit">
          <strong>{t("detail.creditEarned", { credit: s.credit })}</strong>
        </p>
      )}
    </section>
  );
}

export function Questions({ lecture }: { lecture: LectureDetail }) {
  const { t } = useTranslation("lecture");
  const questions = useQuestions(lecture.id, true);
  const actions = useLectureActions(lecture.id);
  const [text, setText] = useState("");
  const open = QA_STATES.includes(lecture.state);
  const send = (e: FormEvent) => {
    e.preventDefault();
    actions.ask.mutate(text, { onSuccess: () => setText("") });
  };
  return (
    <section className="card lecture-qa" aria-labelledby="qa">
      <h2 id="qa">{t("qa.title")}</h2>
      {open && (
        <form onSubmit={send} aria-label={t("qa.ask")}>
          <textarea
            value={text}
            onChange={(e) => setText(e.target.value)}
            placeholder={t("qa.placeholder")}
            aria-label={t("qa.ask")}
            rows={2}
          />
          <button type="submit" className="primary" disabled={!text.trim() || actions.ask.isPending}>
            {t("qa.send")}
          </button>
          <ErrorMessage error={actions.ask.error} />
        </form>
      )}
      <ErrorMessage error={questions.error ?? actions.vote.error ?? actions.pick.error} />
      {questions.data?.items.length === 0 && <p className="muted">{t("qa.none")}</p>}
      <ul className="questions" aria-label={t("qa.title")}>
        {questions.data?.items.map((q) => (
          <li key={q.id} className={q.picked_at ? "picked" : ""}>
            <div>{q.body}</div>
            <div className="small muted row">
              {t("qa.by", { name: q.author_name })} · {t("qa.votes", { count: q.votes })}
              {q.picked_at && <strong className="ok"> · {t("qa.picked")}</strong>}
              <span className="spacer" />
              {open && (
                <button type="button" className="link" disabled={q.voted} onClick={() => actions.vote.mutate(q.id)}>
                  {t(q.voted ? "qa.voted" : "qa.upvote")}
                </button>
              )}
              {open && lecture.may_moderate && !q.picked_at && (
                <button type="button" className="link" onClick={() => actions.pick.mutate(q.id)}>
                  {t("qa.pick")}
                </button>
              )}
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}

function Quiz({ lecture }: { lecture: LectureDetail }) {
  const { t } = useTranslation("lecture");
  const actions = useLectureActions(lecture.id);
  const quiz = lecture.quiz;
  const [answers, setAnswers] = useState<number[]>(() => (quiz ? quiz.questions.map(() => -1) : []));
  if (!quiz || !QUIZ_STATES.includes(lecture.state)) return null;
  const result = actions.quiz.data;
  const best = lecture.standing.quiz_right;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    actions.quiz.mutate(answers);
  };
  return (
    <section className="card" aria-labelledby="quiz">
      <h2 id="quiz">{t("quiz.title")}</h2>
      <form onSubmit={submit}>
        {quiz.questions.map((q, i) => (
          <fieldset key={i}>
            <legend>{q.text}</legend>
            {q.options.map((option, j) => (
              <label key={j} className="check">
                <input
                  type="radio"
                  name={`q${i}`}
                  checked={answers[i] === j}
                  onChange={() => setAnswers(answers.map((a, k) => (k === i ? j : a)))}
                />{" "}
                {option}
              </label>
            ))}
          </fieldset>
        ))}
        <button type="submit" className="primary" disabled={answers.includes(-1) || actions.quiz.isPending}>
          {t("quiz.submit")}
        </button>
      </form>
      <ErrorMessage error={actions.quiz.error} />
      {result && (
        <p role="status" className={result.passed ? "ok" : "warning-text"}>
          {t(result.passed ? "quiz.passed" : "quiz.failed", { right: result.right, total: result.total })}
        </p>
      )}
      {!result && best !== null && (
        <p className="small muted">
          {t("quiz.best", {
            right: best,
            result: t(lecture.standing.quiz_passed ? "quiz.resultPassed" : "quiz.resultFailed"),
          })}
        </p>
      )}
    </section>
  );
}

function Organiser({ lecture }: { lecture: LectureDetail }) {
  const { t } = useTranslation("lecture");
  const actions = useLectureActions(lecture.id);
  const [reason, setReason] = useState("");
  const me = useMe();
  const speaking = lecture.speaker_ids.includes(me.id);
  return (
    <div className="row lecture-actions">
      {speaking && (lecture.state === "scheduled" || lecture.state === "live") && (
        <Link className="button primary" to={`/lectures/${lecture.id}/speak`}>
          {t("detail.speak")}
        </Link>
      )}
      {allows(lecture, "start") && !speaking && (
        <button type="button" onClick={() => actions.start.mutate()} disabled={actions.start.isPending}>
          {t("detail.start")}
        </button>
      )}
      {allows(lecture, "end") && (
        <button type="button" onClick={() => actions.end.mutate()} disabled={actions.end.isPending}>
          {t("detail.end")}
        </button>
      )}
      {lecture.sees_attendance && <Link to={`/lectures/${lecture.id}/attendance`}>{t("detail.attendance")}</Link>}
      {allows(lecture, "cancel") && (
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            actions.cancel.mutate(reason);
          }}
        >
          <input value={reason} onChange={(e) => setReason(e.target.value)} aria-label={t("detail.cancelReason")}
            placeholder={t("detail.cancelReason")} />
          <button type="submit" className="danger" disabled={!reason.trim()}>
            {t("detail.cancel")}
          </button>
        </form>
      )}
      <ErrorMessage error={actions.start.error ?? actions.end.error ?? actions.cancel.error} />
    </div>
  );
}

export default function LecturePage() {
  const { id = "" } = useParams();
  const { t, i18n } = useTranslation("lecture");
  const lecture = useLecture(id);
  const actions = useLectureActions(id);
  if (lecture.isPending) return <Loading />;
  if (lecture.error) return <ErrorMessage error={lecture.error} onRetry={() => void lecture.refetch()} />;
  const l = lecture.data;
  const canRegister = l.state === "scheduled" || l.state === "live";
  return (
    <div className="page lecture">
      <div className="row">
        <LectureStateBadge state={l.state} />
        <h1>{l.title}</h1>
      </div>
      <p className="small">
        {t("detail.when", { when: formatDateTime(l.starts_at, i18n.language), minutes: l.duration_minutes })} ·{" "}
        {t("detail.speakers")}: {l.speakers.map((s) => `${s.display_name} ${s.title}`).join("、")}
      </p>
      {l.abstract && <p>{l.abstract}</p>}
      <Organiser lecture={l} />
      {canRegister && (
        <div className="row">
          {l.registered ? (
            <>
              <span className="ok small">{t("detail.registeredNote")}</span>
              <button type="button" className="link" onClick={() => actions.unregister.mutate()}>
                {t("detail.unregister")}
              </button>
            </>
          ) : (
            <button type="button" className="primary" onClick={() => actions.register.mutate()}>
              {t("detail.register")}
            </button>
          )}
          <ErrorMessage error={actions.register.error ?? actions.unregister.error} />
        </div>
      )}
      {l.state === "cancelled" && <p className="warning-text">{t("detail.cancelled", { reason: l.cancel_reason })}</p>}
      {l.state === "scheduled" && <p className="muted">{t("detail.notYet")}</p>}
      {l.state === "ended" && <p className="muted">{t("detail.ended")}</p>}
      <div className="lecture-main">
        <div className="lecture-stage">
          {l.state === "live" && <Player lectureId={l.id} mode="live" />}
          {l.state === "published" && <Player lectureId={l.id} mode="replay" />}
          {l.chapters.length > 0 && (
            <section aria-labelledby="chapters">
              <h2 id="chapters">{t("detail.chapters")}</h2>
              <ol className="small">
                {l.chapters.map((c) => (
                  <li key={`${c.start_s}-${c.title}`}>
                    {Math.floor(c.start_s / 60)}:{String(Math.floor(c.start_s % 60)).padStart(2, "0")} {c.title}
                  </li>
                ))}
              </ol>
            </section>
          )}
          <Standing lecture={l} />
          <Quiz lecture={l} />
        </div>
        <Questions lecture={l} />
      </div>
    </div>
  );
}
