// Attendance of one lecture (/lectures/:id/attendance) for educators, coordinators and admins: per hospital, per
// doctor, and the CSV export.
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router-dom";

import { ErrorMessage, Loading } from "../../components/ErrorMessage";
import { downloadAttendance, useAttendance, useLecture } from "./api";

export default function Attendance() {
  const { id = "" } = useParams();
  const { t } = useTranslation("lecture");
  const lecture = useLecture(id);
  const attendance = useAttendance(id);
  const [failed, setFailed] = useState<unknown>(null);
  if (attendance.error || lecture.error) return <ErrorMessage error={attendance.error ?? lecture.error} />;
  if (!attendance.data || !lecture.data) return <Loading />;
  const a = attendance.data;
  const yes = (v: boolean | null) => (v === null ? "—" : t(v ? "attendance.yes" : "attendance.no"));
  return (
    <div className="page lecture-attendance">
      <div className="row">
        <h1>{t("attendance.title", { title: lecture.data.title })}</h1>
        <span className="spacer" />
        <Link to={`/lectures/${id}`}>{lecture.data.title}</Link>
        <button type="button" onClick={() => downloadAttendance(id).catch(setFailed)}>
          {t("attendance.download")}
        </button>
      </div>
      <ErrorMessage error={failed} />
      {a.doctors.length === 0 && <p className="muted">{t("attendance.none")}</p>}
      <h2>{t("attendance.byHospital")}</h2>
      <table aria-label={t("attendance.byHospital")}>
        <thead>
          <tr>
            <th>{t("attendance.hospital")}</th>
            <th>{t("attendance.registered")}</th>
            <th>{t("attendance.watched")}</th>
            <th>{t("attendance.minutes")}</th>
            <th>{t("attendance.credited")}</th>
          </tr>
        </thead>
        <tbody>
          {a.hospitals.map((h) => (
            <tr key={h.hospital_id ?? "-"}>
              <td>{h.hospital_name ?? h.hospital_id ?? "—"}</td>
              <td>{h.registered}</td>
              <td>{h.watched}</td>
              <td>{h.watched_minutes}</td>
              <td>{h.credited}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>{t("attendance.byDoctor")}</h2>
      <table aria-label={t("attendance.byDoctor")}>
        <thead>
          <tr>
            <th>{t("attendance.doctor")}</th>
            <th>{t("attendance.hospital")}</th>
            <th>{t("attendance.registered")}</th>
            <th>{t("attendance.minutes")}</th>
            <th>{t("attendance.live")}</th>
            <th>{t("attendance.quiz")}</th>
            <th>{t("attendance.credit")}</th>
          </tr>
        </thead>
        <tbody>
          {a.doctors.map((d) => (
            <tr key={d.user_id}>
              <td>{d.display_name}</td>
              <td>{d.hospital_name ?? "—"}</td>
              <td>{yes(d.registered)}</td>
              <td>{(d.watched_seconds / 60).toFixed(1)}</td>
              <td>{(d.live_seconds / 60).toFixed(1)}</td>
              <td>{yes(d.quiz_passed)}</td>
              <td>{d.credit ?? "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
