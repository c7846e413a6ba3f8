// Report deliveries to the county's PACS (issue 10): each signed report's PDF and SR, in the state the hospital's
// gateway last told the cloud. The sending hospital's doctors and coordinators see their hospital's; the alliance's
// coordinators and admins every hospital's (filter by hospital). An admin or the hospital's own coordinator sends a
// failed one again: it is queued, and the gateway stores it into the PACS at its next poll.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router-dom";

import { api, ok } from "../../api/client";
import { deliveryStateValues, type DeliveryState, type Me, type ReportDelivery } from "../../api/generated/schema";
import { useHospitals } from "../../api/hooks";
import { useMe } from "../../auth/session";
import { ErrorMessage, Loading } from "../../components/ErrorMessage";
import { useFormatDate } from "../../i18n/format";

const PAGE_SIZE = 50;

type Viewer = Pick<Me, "role" | "hospital_id">;

/** Whether the server lets `me` send `d` again (domain.pacs_delivery.check_retry): only a failed one, by an admin or
 * the sending hospital's own coordinator. The button follows it; the server decides. */
export function canRetry(me: Viewer, d: Pick<ReportDelivery, "state" | "hospital_id">): boolean {
  return d.state === "failed" && (me.role === "admin" || (me.role === "coordinator" && me.hospital_id === d.hospital_id));
}

/** A C-STORE status as DICOM writes it (PS3.7 C): four hex digits. */
export function statusHex(status: number | null): string {
  return status === null ? "" : status.toString(16).toUpperCase().padStart(4, "0");
}

function RetryForm({ delivery }: { delivery: ReportDelivery }) {
  const { t } = useTranslation("admin");
  const client = useQueryClient();
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState("");
  const retry = useMutation({
    mutationFn: () =>
      ok(
        api.POST("/api/report-deliveries/{delivery_id}/retry", {
          params: { path: { delivery_id: delivery.id } },
          body: { reason: reason.trim() },
        }),
      ),
    onSuccess: () => {
      setOpen(false);
      setReason("");
      void client.invalidateQueries({ queryKey: ["report-deliveries"] });
    },
  });
  if (!open) {
    return (
      <button type="button" onClick={() => setOpen(true)}>
        {t("deliveries.retry")}
      </button>
    );
  }
  return (
    <form
      className="retry-form"
      onSubmit={(e) => {
        e.preventDefault();
        if (reason.trim()) retry.mutate();
      }}
    >
      <p className="small">{t("deliveries.confirm")}</p>
      <label>
        {t("deliveries.why")}{" "}
        <input value={reason} maxLength={500} onChange={(e) => setReason(e.target.value)} />
      </label>{" "}
      <button type="submit" disabled={retry.isPending || !reason.trim()}>
        {t("deliveries.confirmRetry")}
      </button>{" "}
      <button type="button" onClick={() => setOpen(false)}>
        {t("common:action.cancel")}
      </button>
      {retry.error && <ErrorMessage error={retry.error} />}
    </form>
  );
}

export function DeliveriesTable({
  me,
  hospitalId,
  state,
}: {
  me: Viewer;
  hospitalId: string;
  state: DeliveryState | "";
}) {
  const { t } = useTranslation("admin");
  const when = useFormatDate();
  const [offset, setOffset] = useState(0);
  const query = useQuery({
    queryKey: ["report-deliveries", hospitalId, state, offset],
    queryFn: () =>
      ok(
        api.GET("/api/report-deliveries", {
          params: {
            query: { hospital_id: hospitalId || undefined, state: state || undefined, limit: PAGE_SIZE, offset },
          },
        }),
      ),
    refetchInterval: 30_000,
  });
  if (query.isPending) return <Loading />;
  if (query.error) return <ErrorMessage error={query.error} onRetry={() => void query.refetch()} />;
  const page = query.data;
  if (page.items.length === 0 && offset === 0) return <p className="muted">{t("deliveries.none")}</p>;
  return (
    <section className="card">
      <table className="deliveries">
        <thead>
          <tr>
            <th>{t("deliveries.made")}</th>
            <th>{t("deliveries.case")}</th>
            <th>{t("deliveries.report")}</th>
            <th>{t("deliveries.state.title")}</th>
            <th>{t("deliveries.attempts")}</th>
            <th>{t("deliveries.pacs")}</th>
            <th>{t("deliveries.updated")}</th>
            <th>{t("actions")}</th>
          </tr>
        </thead>
        <tbody>
          {page.items.map((d) => (
            <tr key={d.id} data-testid={`delivery-${d.id}`} data-state={d.state}>
              <td>{when(d.created_at)}</td>
              <td>
                <Link to={`/cases/${d.referral_id}`}>{d.referral_id}</Link>
                <div>{d.patient_name}</div>
                <div className="muted small">{d.hospital_name}</div>
              </td>
              <td>
                {t(d.report_kind === "addendum" ? "deliveries.addendum" : "deliveries.original", {
                  version: d.report_version,
                })}
                <div className="muted small">{t(`deliveries.kind.${d.kind}`)}</div>
              </td>
              <td>
                <span className={`badge delivery-${d.state}`}>{t(`deliveries.state.${d.state}`)}</span>
              </td>
              <td>{d.attempts}</td>
              <td>
                {d.dicom_status !== null && <strong className="mono">{statusHex(d.dicom_status)}</strong>}
                {d.detail && <div className="small">{d.detail}</div>}
              </td>
              <td>{when(d.updated_at)}</td>
              <td>{canRetry(me, d) && <RetryForm delivery={d} />}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p>
        {offset > 0 && (
          <button type="button" onClick={() => setOffset(Math.max(0, offset - PAGE_SIZE))}>
            {t("deliveries.newer")}
          </button>
        )}{" "}
        {page.next_offset !== null && (
          <button type="button" onClick={() => setOffset(page.next_offset ?? 0)}>
            {t("deliveries.older")}
          </button>
        )}
      </p>
      <p className="muted small">{t("deliveries.howToRetry")}</p>
    </section>
  );
}

export default function ReportDeliveries() {
  const { t } = useTranslation("admin");
  const me = useMe();
  const hospitals = useHospitals().data ?? {};
  const [hospitalId, setHospitalId] = useState("");
  const [state, setState] = useState<DeliveryState | "">("");
  return (
    <div className="report-deliveries">
      <h1>{t("deliveries.title")}</h1>
      <p className="muted">{t("deliveries.explain")}</p>
      <p className="filters">
        {me.role !== "county_doctor" && (
          <label>
            {t("deliveries.hospital")}{" "}
            <select value={hospitalId} onChange={(e) => setHospitalId(e.target.value)}>
              <option value="">{t("deliveries.allHospitals")}</option>
              {Object.values(hospitals).map((h) => (
                <option key={h.id} value={h.id}>
                  {h.name}
                </option>
              ))}
            </select>
          </label>
        )}{" "}
        <label>
          {t("deliveries.state.title")}{" "}
          <select value={state} onChange={(e) => setState(e.target.value as DeliveryState | "")}>
            <option value="">{t("deliveries.allStates")}</option>
            {deliveryStateValues.map((s) => (
              <option key={s} value={s}>
                {t(`deliveries.state.${s}`)}
              </option>
            ))}
          </select>
        </label>
      </p>
      <DeliveriesTable key={`${hospitalId}/${state}`} me={me} hospitalId={hospitalId} state={state} />
    </div>
  );
}
