// What the hospital's agreements cover, said up front on the referral form (GET /api/agreements).
import { useTranslation } from "react-i18next";

import type { AgreementSummary as Agreement } from "../../api/generated/schema";
import { useFormatDuration } from "../../i18n/duration";

/** What the form shows of an agreement its hospital is party to (GET /api/agreements). */
export type AgreementInfo = Pick<
  Agreement,
  | "id"
  | "requesting_hospital_id"
  | "requesting_hospital_name"
  | "reading_hospital_id"
  | "reading_hospital_name"
  | "service_mode"
  | "active"
  | "covers"
  | "sla"
  | "second_reading"
  | "second_reading_share"
  | "second_reading_covers"
  | "half_hosting"
  | "cooperation_modalities"
  | "timezone"
>;

/** The agreements that send this hospital's cases out (it is the requesting party), active ones only. */
export function outgoing(agreements: AgreementInfo[], hospitalId: string | null): AgreementInfo[] {
  return agreements.filter((a) => a.active && a.requesting_hospital_id === hospitalId);
}

export const onlyDifficult = (agreements: AgreementInfo[]) =>
  agreements.length > 0 && agreements.every((a) => a.service_mode === "difficult_only");

export const allowsOverflow = (agreements: AgreementInfo[]) =>
  agreements.some((a) => a.service_mode === "half_hosting" && (a.half_hosting?.overflow_daily_cap ?? 0) > 0);

function CoverageDetails({ a }: { a: AgreementInfo }) {
  const { t } = useTranslation("county");
  if (a.service_mode === "half_hosting" && a.half_hosting) {
    const h = a.half_hosting;
    const lines: string[] = [];
    if (h.modalities.length) lines.push(t("agreement.halfModalities", { list: h.modalities.join(", ") }));
    if (h.hours_start && h.hours_end)
      lines.push(t("agreement.halfHours", { start: h.hours_start, end: h.hours_end, tz: a.timezone }));
    if (h.overflow_daily_cap) lines.push(t("agreement.halfOverflow", { cap: h.overflow_daily_cap }));
    return (
      <ul className="plain">
        {lines.map((line) => (
          <li key={line}>{line}</li>
        ))}
      </ul>
    );
  }
  if (a.service_mode === "cooperation") {
    const list = a.cooperation_modalities.length ? a.cooperation_modalities.join(", ") : t("agreement.everyModality");
    return <span>{t("agreement.coopModalities", { list })}</span>;
  }
  return null;
}

/** `inHouse`: the modalities the hospital reads itself (本院写片, /api/me): those cases stay here unless
 * the doctor names another reading hospital (ReadingHospitalPicker). */
export function AgreementSummary({ agreements, inHouse = [] }: { agreements: AgreementInfo[]; inHouse?: string[] }) {
  const { t } = useTranslation("county");
  const formatDuration = useFormatDuration();
  const minutes = (m: number) => formatDuration(m * 60_000);
  return (
    <section className="card agreement-summary" aria-labelledby="agreement-title">
      <h2 id="agreement-title">{t("agreement.title")}</h2>
      {inHouse.length > 0 && (
        <p className="in-house-note">
          <strong>{t("agreement.inHouse", { list: inHouse.join(", ") })}</strong>
        </p>
      )}
      {agreements.length === 0 && inHouse.length === 0 && (
        <p role="alert" className="warning">
          {t("agreement.none")}
        </p>
      )}
      {agreements.map((a) => (
        <div key={a.id} className="agreement" data-mode={a.service_mode}>
          <dl className="facts">
            <dt>{t("agreement.readingHospital")}</dt>
            <dd>{a.reading_hospital_name}</dd>
            <dt>{t("agreement.mode")}</dt>
            <dd>
              <strong>{t(`agreement.modes.${a.service_mode}`)}</strong>
              <CoverageDetails a={a} />
            </dd>
            <dt>{t("agreement.sla")}</dt>
            <dd>
              {t("agreement.slaLine", {
                stat: minutes(a.sla.stat_minutes),
                urgent: minutes(a.sla.urgent_minutes),
                routine: minutes(a.sla.routine_minutes),
              })}
            </dd>
            <dt>{t("agreement.secondReading")}</dt>
            <dd>
              {t(`agreement.policy.${a.second_reading}`, {
                share: Math.round(a.second_reading_share * 100),
                defaultValue: a.second_reading_covers,
              })}
            </dd>
          </dl>
          {a.service_mode === "difficult_only" && (
            <p className="warning difficult-hint">
              <strong>{t("agreement.difficultHint")}</strong>
            </p>
          )}
        </div>
      ))}
    </section>
  );
}
