// The reader's (and coordinator's) worklist: server-scoped, most urgent SLA first, filters in the URL, live over
// server-sent events (the ["referrals", ...] key), loaded 200 rows at a time so a busy alliance stays fast.
import { useInfiniteQuery, useMutation, useQueryClient } from "@tanstack/react-query";
import { useCallback, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { useLocation, useNavigate, useSearchParams } from "react-router-dom";

import { allows } from "../../api/allowedActions";
import { api, ok } from "../../api/client";
import { worklistQuery } from "../../api/hooks";
import { useHospitals } from "../../api/hooks";
import { ALL_STATES, PRIORITIES, type Referral, type ReferralState } from "../../api/types";
import { useMe, useSession } from "../../auth/session";
import { ErrorMessage, Loading } from "../../components/ErrorMessage";
import { useCaseAction } from "./actions";
import { Field } from "./Field";
import { apiFilter, MODALITIES, paramsFromView, sortRows, viewFromParams, type SortKey, type WorklistView } from "./filters";
import { WorklistTable } from "./WorklistTable";

export const PAGE_SIZE = 200;

function DutyToggle() {
  const { t } = useTranslation("reading");
  const me = useMe();
  const { refreshMe } = useSession();
  const duty = useMutation({
    mutationFn: (on: boolean) => ok(api.PUT("/api/me/duty", { body: { on_duty: on } })),
    onSuccess: () => refreshMe(),
  });
  return (
    <div className="duty">
      <label className="inline">
        <input
          type="checkbox"
          role="switch"
          aria-checked={me.on_duty}
          checked={me.on_duty}
          disabled={duty.isPending}
          onChange={(e) => duty.mutate(e.target.checked)}
        />
        {t("worklist.onDuty")}
      </label>
      <span className="muted small" role="status">
        {me.on_duty ? t("worklist.onDutyHint") : t("worklist.offDutyHint")}
      </span>
      <ErrorMessage error={duty.error} />
    </div>
  );
}

function StateFilter({ value, onChange }: { value: ReferralState[]; onChange: (states: ReferralState[]) => void }) {
  const { t } = useTranslation("reading");
  const toggle = (s: ReferralState, on: boolean) => onChange(ALL_STATES.filter((x) => (x === s ? on : value.includes(x))));
  return (
    <details className="state-filter">
      <summary>
        {t("worklist.filter.state")}: {value.length ? value.map((s) => t(`common:state.${s}`)).join(", ") : t("worklist.filter.any")}
      </summary>
      <fieldset>
        <legend className="visually-hidden">{t("worklist.filter.state")}</legend>
        {ALL_STATES.map((s) => (
          <label key={s} className="inline">
            <input type="checkbox" checked={value.includes(s)} onChange={(e) => toggle(s, e.target.checked)} />
            {t(`common:state.${s}`)}
          </label>
        ))}
      </fieldset>
    </details>
  );
}

export function Filters({ view, onChange }: { view: WorklistView; onChange: (view: WorklistView) => void }) {
  const { t } = useTranslation("reading");
  const hospitals = useHospitals();
  const options = Object.values(hospitals.data ?? {}).sort((a, b) => a.name.localeCompare(b.name));
  return (
    <form className="filters" role="search" aria-label={t("worklist.filter.title")} onSubmit={(e) => e.preventDefault()}>
      <StateFilter value={view.state} onChange={(state) => onChange({ ...view, state })} />
      <Field id="filter-priority" label={t("worklist.filter.priority")}>
        <select id="filter-priority" value={view.priority} onChange={(e) => onChange({ ...view, priority: e.target.value as WorklistView["priority"] })}>
          <option value="">{t("worklist.filter.any")}</option>
          {PRIORITIES.map((p) => (
            <option key={p} value={p}>
              {t(`common:priority.${p}`)}
            </option>
          ))}
        </select>
      </Field>
      <Field id="filter-modality" label={t("worklist.filter.modality")}>
        <select id="filter-modality" value={view.modality} onChange={(e) => onChange({ ...view, modality: e.target.value })}>
          <option value="">{t("worklist.filter.any")}</option>
          {MODALITIES.map((m) => (
            <option key={m} value={m}>
              {m}
            </option>
          ))}
        </select>
      </Field>
      <Field id="filter-hospital" label={t("worklist.filter.hospital")}>
        <select id="filter-hospital" value={view.hospital_id} onChange={(e) => onChange({ ...view, hospital_id: e.target.value })}>
          <option value="">{t("worklist.filter.any")}</option>
          {options.map((h) => (
            <option key={h.id} value={h.id}>
              {h.name}
            </option>
          ))}
        </select>
      </Field>
      <button type="button" onClick={() => onChange({ ...view, state: [], priority: "", modality: "", hospital_id: "" })}>
        {t("worklist.filter.clear")}
      </button>
    </form>
  );
}

function DeclineForm({ onConfirm, onCancel, busy }: { onConfirm: (reason: string) => void; onCancel: () => void; busy: boolean }) {
  const { t } = useTranslation("reading");
  const [reason, setReason] = useState("");
  return (
    <form
      className="card decline-form"
      aria-label={t("worklist.declineTitle")}
      onSubmit={(e) => {
        e.preventDefault();
        onConfirm(reason.trim());
      }}
    >
      <h2>{t("worklist.declineTitle")}</h2>
      <Field id="decline-reason" label={t("worklist.declineReason")}>
        <textarea
          id="decline-reason" value={reason} maxLength={4000} autoFocus onChange={(e) => setReason(e.target.value)} />
      </Field>
      <div className="row">
        <button type="submit" className="danger" disabled={busy}>
          {t("worklist.confirmDecline")}
        </button>
        <button type="button" onClick={onCancel}>
          {t("common:action.cancel")}
        </button>
      </div>
    </form>
  );
}

export function useWorklistPages(view: WorklistView) {
  const filter = useMemo(() => apiFilter(view), [view]);
  return useInfiniteQuery({
    queryKey: ["referrals", { ...filter, pageSize: PAGE_SIZE }],
    queryFn: ({ pageParam }) =>
      ok(api.GET("/api/referrals", { params: { query: worklistQuery({ ...filter, limit: PAGE_SIZE, offset: pageParam }) } })),
    initialPageParam: 0,
    getNextPageParam: (last) => last.next_offset ?? undefined,
  });
}

export default function Worklist() {
  const { t } = useTranslation("reading");
  const me = useMe();
  const navigate = useNavigate();
  const client = useQueryClient();
  const [params, setParams] = useSearchParams();
  const view = useMemo(() => viewFromParams(params), [params]);
  const setView = useCallback((next: WorklistView) => setParams(paramsFromView(next), { replace: true }), [setParams]);
  const pages = useWorklistPages(view);
  const hospitals = useHospitals();
  const names = hospitals.data;
  const hospitalName = useCallback((id: string) => names?.[id]?.name ?? id, [names]);
  const viewer = useMemo(() => ({ id: me.id, role: me.role }), [me.id, me.role]);
  const [declining, setDeclining] = useState<string | null>(null);
  const location = useLocation();
  const [notice, setNotice] = useState(() =>
    (location.state as { notice?: string } | null)?.notice === "preliminary" ? t("worklist.submitted") : "",
  );
  const action = useCaseAction();
  const act = action.mutate; // stable across renders, so the memoised rows keep their callbacks

  const rows = useMemo(() => {
    // Live refetches can shift a case across page boundaries: keep its first appearance only.
    const seen = new Set<string>();
    const all: Referral[] = [];
    for (const page of pages.data?.pages ?? [])
      for (const r of page.items)
        if (!seen.has(r.id)) {
          seen.add(r.id);
          all.push(r);
        }
    return all;
  }, [pages.data]);
  const sorted = useMemo(() => sortRows(rows, view.sort, view.dir, hospitalName), [rows, view.sort, view.dir, hospitalName]);

  const onSort = useCallback(
    (key: SortKey) =>
      setView({ ...view, sort: key, dir: view.sort === key && view.dir === "asc" ? "desc" : "asc" }),
    [setView, view],
  );
  const onAccept = useCallback(
    (id: string) =>
      act({ id, action: "accept", body: { comment: "" } }, { onSuccess: () => navigate(`/read/${id}`) }),
    [act, navigate],
  );
  const onDecline = useCallback((id: string) => {
    setNotice("");
    setDeclining(id);
  }, []);
  const confirmDecline = (reason: string) => {
    if (!declining) return;
    act(
      { id: declining, action: "decline", body: { comment: reason } },
      {
        onSuccess: () => {
          setDeclining(null);
          setNotice(t("worklist.declined"));
        },
      },
    );
  };

  const offered = rows.filter((r) => allows(r, "accept")).length;

  return (
    <section aria-labelledby="worklist-title">
      <div className="row between">
        <h1 id="worklist-title">{t("worklist.title")}</h1>
        {(me.role === "expert" || me.role === "senior") && <DutyToggle />}
      </div>
      <Filters view={view} onChange={setView} />
      {offered > 0 && (
        <p className="warning" role="status">
          {t("worklist.offersWaiting", { count: offered })}
        </p>
      )}
      {notice && (
        <p className="success" role="status">
          {notice}
        </p>
      )}
      {action.error && <ErrorMessage error={action.error} />}
      {declining && (
        <DeclineForm key={declining} busy={action.isPending} onConfirm={confirmDecline} onCancel={() => setDeclining(null)} />
      )}
      {pages.isPending ? (
        <Loading />
      ) : pages.error ? (
        <ErrorMessage error={pages.error} onRetry={() => void client.invalidateQueries({ queryKey: ["referrals"] })} />
      ) : sorted.length === 0 ? (
        <p className="muted" role="status">
          {t("worklist.empty")}
        </p>
      ) : (
        <>
          <WorklistTable
            rows={sorted}
            me={viewer}
            hospitalName={hospitalName}
            sort={view.sort}
            dir={view.dir}
            onSort={onSort}
            busyId={action.isPending ? (action.variables?.id ?? null) : null}
            onAccept={onAccept}
            onDecline={onDecline}
          />
          <div className="row worklist-footer">
            <span className="muted small" role="status" aria-live="polite">
              {t("worklist.shown", { count: rows.length })}
            </span>
            {pages.hasNextPage && (
              <button type="button" disabled={pages.isFetchingNextPage} onClick={() => void pages.fetchNextPage()}>
                {pages.isFetchingNextPage ? t("common:action.loading") : t("worklist.loadMore")}
              </button>
            )}
          </div>
        </>
      )}
    </section>
  );
}
