// Instances a hospital's gateway (前置机) set aside because the cloud refused them for good (issue 16): the
// hospital's coordinator sees their own hospital's, an admin chooses the hospital. The gateway reports the list
// itself; nothing here changes it (fix the cause, then send the instance again from the modality).
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";

import { api, ok } from "../../api/client";
import { useHospitalName, useHospitals } from "../../api/hooks";
import { useMe } from "../../auth/session";
import { ErrorMessage, Loading } from "../../components/ErrorMessage";
import { useFormatDate } from "../../i18n/format";

/** The words for a DICOM FailureReason the cloud gave (PS3.4 B.2.3), by its class; the detail stays as sent. */
export function reasonKey(code: string | null): string {
  if (!code) return "quarantine.reason.none";
  if (code === "A9F1") return "quarantine.reason.conflict";
  if (code.startsWith("A7")) return "quarantine.reason.resources";
  if (code.startsWith("A9")) return "quarantine.reason.mismatch";
  if (code.startsWith("C")) return "quarantine.reason.unreadable";
  if (code === "0122") return "quarantine.reason.sopClass";
  return "quarantine.reason.other";
}

function QuarantineTable({ hospitalId }: { hospitalId: string }) {
  const { t } = useTranslation("admin");
  const when = useFormatDate();
  const query = useQuery({
    queryKey: ["gateway-quarantine", hospitalId],
    queryFn: () =>
      ok(api.GET("/api/hospitals/{hospital_id}/gateway-quarantine", { params: { path: { hospital_id: hospitalId } } })),
    refetchInterval: 60_000,
  });
  if (query.isPending) return <Loading />;
  if (query.error) return <ErrorMessage error={query.error} onRetry={() => void query.refetch()} />;
  const data = query.data;
  return (
    <section className="card" aria-labelledby="quarantine-count">
      <p id="quarantine-count" data-testid="quarantine-count">
        <strong>{t("quarantine.count", { count: data.count })}</strong>{" "}
        <span className="muted small">
          {data.reported_at ? t("quarantine.reportedAt", { time: when(data.reported_at) }) : t("quarantine.neverReported")}
        </span>
      </p>
      {data.items.length > 0 && (
        <table className="quarantine">
          <thead>
            <tr>
              <th>{t("quarantine.firstSeen")}</th>
              <th>{t("quarantine.reason.title")}</th>
              <th>{t("quarantine.sopInstance")}</th>
              <th>{t("quarantine.gateway")}</th>
            </tr>
          </thead>
          <tbody>
            {data.items.map((i) => (
              <tr key={`${i.gateway}/${i.sop_instance_uid}`} data-sop={i.sop_instance_uid}>
                <td>{when(i.first_seen_at)}</td>
                <td>
                  <strong>{t(reasonKey(i.code), { code: i.code ?? "" })}</strong>
                  <div className="muted small">{i.reason}</div>
                </td>
                <td className="mono small">{i.sop_instance_uid}</td>
                <td>{i.gateway}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p className="muted small">{t("quarantine.howToRetry")}</p>
    </section>
  );
}

export default function GatewayQuarantine() {
  const { t } = useTranslation("admin");
  const me = useMe();
  const hospitals = useHospitals().data ?? {};
  const nameOf = useHospitalName();
  const [chosen, setChosen] = useState<string>(me.hospital_id ?? "");
  const hospitalId = me.role === "admin" ? chosen : (me.hospital_id ?? "");
  return (
    <div className="gateway-quarantine">
      <h1>{t("quarantine.title")}</h1>
      <p className="muted">{t("quarantine.explain")}</p>
      {me.role === "admin" ? (
        <label>
          {t("quarantine.hospital")}{" "}
          <select value={chosen} onChange={(e) => setChosen(e.target.value)}>
            <option value="">{t("choose")}</option>
            {Object.values(hospitals).map((h) => (
              <option key={h.id} value={h.id}>
                {h.name}
              </option>
            ))}
          </select>
        </label>
      ) : (
        <p>{nameOf(hospitalId)}</p>
      )}
      {hospitalId && <QuarantineTable hospitalId={hospitalId} />}
    </div>
  );
}
