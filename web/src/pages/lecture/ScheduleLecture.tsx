// Scheduling a lecture (/lectures/new, educators and coordinators): title, abstract, time, speakers (experts and
// seniors of any hospital), audience (the whole alliance or some hospitals), credit, threshold and a short quiz.
// The server checks everything; its refusal is shown in its own words.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { useNavigate } from "react-router-dom";

import { api, ok } from "../../api/client";
import { useHospitals } from "../../api/hooks";
import { ErrorMessage } from "../../components/ErrorMessage";
import { localInput } from "../consult/ScheduleForm";

interface QuestionDraft {
  text: string;
  options: string[];
  answer: number;
}

function useSpeakers() {
  return useQuery({
    queryKey: ["people", "speakers"],
    queryFn: () => ok(api.GET("/api/people", { params: { query: { role: ["expert", "senior"], limit: 200 } } })),
    select: (page) => page.items,
  });
}

export default function ScheduleLecture() {
  const { t } = useTranslation("lecture");
  const navigate = useNavigate();
  const client = useQueryClient();
  const hospitals = useHospitals();
  const speakers = useSpeakers();
  const [title, setTitle] = useState("");
  const [abstract, setAbstract] = useState("");
  const [startsAt, setStartsAt] = useState(() => localInput(null));
  const [duration, setDuration] = useState(60);
  const [speakerIds, setSpeakerIds] = useState<string[]>([]);
  const [everyone, setEveryone] = useState(true);
  const [audience, setAudience] = useState<string[]>([]);
  const [credit, setCredit] = useState(1);
  const [threshold, setThreshold] = useState(80);
  const [questions, setQuestions] = useState<QuestionDraft[]>([]);
  const create = useMutation({
    mutationFn: () =>
      ok(
        api.POST("/api/lectures", {
          body: {
            title,
            abstract,
            starts_at: new Date(startsAt).toISOString(),
            duration_minutes: duration,
            speaker_ids: speakerIds,
            audience_hospital_ids: everyone ? [] : audience,
            credit,
            threshold: threshold / 100,
            quiz: questions.length ? { questions, pass_mark: 0.6 } : null,
            case_ids: [],
          },
        }),
      ),
    onSuccess: (lecture) => {
      void client.invalidateQueries({ queryKey: ["lectures"] });
      navigate(`/lectures/${lecture.id}`);
    },
  });
  const toggle = (list: string[], id: string) => (list.includes(id) ? list.filter((x) => x !== id) : [...list, id]);
  const setQuestion = (i: number, patch: Partial<QuestionDraft>) =>
    setQuestions(questions.map((q, k) => (k === i ? { ...q, ...patch } : q)));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  return (
    <div className="page lecture-form">
      <h1>{t("form.title")}</h1>
      <form onSubmit={submit} className="form">
        <label>
          {t("form.name")}
          <input value={title} onChange={(e) => setTitle(e.target.value)} required maxLength={200} />
        </label>
        <label>
          {t("form.abstract")}
          <textarea value={abstract} onChange={(e) => setAbstract(e.target.value)} rows={3} />
        </label>
        <div className="row">
          <label>
            {t("form.startsAt")}
            <input type="datetime-local" value={startsAt} onChange={(e) => setStartsAt(e.target.value)} required />
          </label>
          <label>
            {t("form.duration")}
            <input type="number" min={10} max={480} value={duration} onChange={(e) => setDuration(+e.target.value)} />
          </label>
          <label>
            {t("form.credit")}
            <input type="number" min={0} max={20} step={0.5} value={credit} onChange={(e) => setCredit(+e.target.value)} />
          </label>
          <label>
            {t("form.threshold")}
            <input type="number" min={10} max={100} value={threshold} onChange={(e) => setThreshold(+e.target.value)} />
          </label>
        </div>
        <fieldset>
          <legend>{t("form.speakers")}</legend>
          <ErrorMessage error={speakers.error} />
          {(speakers.data ?? []).map((p) => (
            <label key={p.id} className="check">
              <input
                type="checkbox"
                checked={speakerIds.includes(p.id)}
                onChange={() => setSpeakerIds(toggle(speakerIds, p.id))}
              />{" "}
              {p.display_name} · {p.title}
            </label>
          ))}
        </fieldset>
        <fieldset>
          <legend>{t("form.audience")}</legend>
          <label className="check">
            <input type="radio" checked={everyone} onChange={() => setEveryone(true)} /> {t("form.everyone")}
          </label>
          <label className="check">
            <input type="radio" checked={!everyone} onChange={() => setEveryone(false)} /> {t("form.chooseHospitals")}
          </label>
          {!everyone &&
            Object.values(hospitals.data ?? {}).map((h) => (
              <label key={h.id} className="check">
                <input type="checkbox" checked={audience.includes(h.id)} onChange={() => setAudience(toggle(audience, h.id))} />{" "}
                {h.name}
              </label>
            ))}
        </fieldset>
        <fieldset>
          <legend>{t("form.quiz")}</legend>
          {questions.map((q, i) => (
            <div key={i} className="card">
              <label>
                {t("form.question", { n: i + 1 })}
                <input value={q.text} onChange={(e) => setQuestion(i, { text: e.target.value })} required />
              </label>
              {q.options.map((o, j) => (
                <div key={j} className="row">
                  <label>
                    {t("form.option", { n: j + 1 })}
                    <input
                      value={o}
                      onChange={(e) => setQuestion(i, { options: q.options.map((x, k) => (k === j ? e.target.value : x)) })}
                      required
                    />
                  </label>
                  <label className="check">
                    <input type="radio" name={`answer-${i}`} checked={q.answer === j} onChange={() => setQuestion(i, { answer: j })} />{" "}
                    {t("form.right")}
                  </label>
                </div>
              ))}
              <button type="button" className="link" onClick={() => setQuestions(questions.filter((_, k) => k !== i))}>
                {t("form.remove")}
              </button>
            </div>
          ))}
          {questions.length < 10 && (
            <button type="button" onClick={() => setQuestions([...questions, { text: "", options: ["", ""], answer: 0 }])}>
              {t("form.addQuestion")}
            </button>
          )}
        </fieldset>
        {speakerIds.length === 0 && <p className="muted small">{t("form.noSpeaker")}</p>}
        <ErrorMessage error={create.error} />
        <button type="submit" className="primary" disabled={create.isPending || speakerIds.length === 0}>
          {t("form.save")}
        </button>
      </form>
    </div>
  );
}
