// The frame around every signed-in screen: what this role may open, the live-update state, the inbox,
// the language switch and sign-out. Navigation shows only the role's own screens.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { Link, NavLink, Navigate, useLocation } from "react-router-dom";

import { api, ok } from "../api/client";
import type { StaffRole } from "../api/types";
import { useSession } from "../auth/session";
import { LANGUAGES, setLanguage, type Language } from "../i18n";
import { useNoticeText } from "../i18n/notice";
import { useLiveStatus } from "../live/LiveUpdates";
import { Loading } from "./ErrorMessage";

// Every doctor learns from the teaching library (words from the teaching area: "teaching:nav.*").
const LEARNING = [
  { to: "/teaching", label: "teaching:nav.library" },
  { to: "/teaching/collections", label: "teaching:nav.collections" },
  { to: "/teaching/history", label: "teaching:nav.history" },
];
const CONSULTS = { to: "/consults", label: "nav.consults" };
const LECTURES = { to: "/lectures", label: "lecture:nav.catalogue" };
const SEARCH = { to: "/search", label: "search:nav" };
const GATEWAY = { to: "/gateway-quarantine", label: "admin:quarantine.nav" };
const DELIVERIES = { to: "/report-deliveries", label: "admin:deliveries.nav" };
const NAV: Record<StaffRole, { to: string; label: string }[]> = {
  county_doctor: [
    { to: "/cases", label: "nav.cases" },
    { to: "/cases/new", label: "nav.newReferral" },
    SEARCH,
    CONSULTS,
    LECTURES,
    ...LEARNING,
    DELIVERIES,
  ],
  expert: [{ to: "/worklist", label: "nav.worklist" }, SEARCH, CONSULTS, LECTURES, ...LEARNING],
  senior: [
    { to: "/worklist", label: "nav.worklist" },
    { to: "/review", label: "nav.review" },
    SEARCH,
    CONSULTS,
    LECTURES,
    ...LEARNING,
  ],
  coordinator: [
    { to: "/dashboard", label: "nav.dashboard" },
    { to: "/worklist", label: "nav.worklist" },
    SEARCH,
    CONSULTS,
    LECTURES,
    ...LEARNING,
    GATEWAY,
    DELIVERIES,
  ],
  admin: [{ to: "/admin", label: "nav.admin" }, GATEWAY, DELIVERIES, SEARCH, LECTURES],
  educator: [
    { to: "/teaching/queue", label: "teaching:nav.queue" },
    { to: "/teaching", label: "teaching:nav.library" },
    { to: "/teaching/collections", label: "teaching:nav.collections" },
    LECTURES,
  ],
};

export const HOME: Record<StaffRole, string> = {
  county_doctor: "/cases",
  expert: "/worklist",
  senior: "/review",
  coordinator: "/dashboard",
  admin: "/admin",
  educator: "/teaching/queue",
};

// Drawn, not an emoji: hospital PCs often lack a colour-emoji font and would show an empty box.
function BellIcon() {
  return (
    <svg width="14" height="14" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
      <path
        fill="currentColor"
        d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22zm7-6V11a7 7 0 0 0-5.5-6.84V3a1.5 1.5 0 0 0-3 0v1.16A7 7 0 0 0 5 11v5l-2 2v1h18v-1z"
      />
    </svg>
  );
}

function Inbox() {
  const { t } = useTranslation();
  const client = useQueryClient();
  const [open, setOpen] = useState(false);
  const noticeText = useNoticeText();
  const inbox = useQuery({
    queryKey: ["notifications"],
    queryFn: () => ok(api.GET("/api/notifications", { params: { query: { limit: 20 } } })),
  });
  const markRead = useMutation({
    mutationFn: (id: number) =>
      ok(api.POST("/api/notifications/{notification_id}/read", { params: { path: { notification_id: id } } })),
    onSuccess: () => client.invalidateQueries({ queryKey: ["notifications"] }),
  });
  const unread = inbox.data?.items.filter((n) => !n.read_at) ?? [];
  return (
    <div className="inbox">
      <button type="button" aria-expanded={open} onClick={() => setOpen(!open)} aria-label={t("notifications.title")}>
        <BellIcon /> <span className="count">{unread.length}</span>
      </button>
      {open && (
        <ul className="inbox-list" aria-label={t("notifications.title")}>
          {(inbox.data?.items ?? []).length === 0 && <li className="muted">{t("notifications.none")}</li>}
          {inbox.data?.items.map((n) => {
            const words = noticeText(n); // the notice's kind and parameters, in the reader's language
            return (
              <li key={n.id} className={n.read_at ? "read" : "unread"}>
                {n.params.case_id || n.params.lecture_id || n.referral_id ? (
                  <Link
                    to={
                      n.params.lecture_id
                        ? `/lectures/${n.params.lecture_id}`
                        : n.params.case_id
                          ? `/teaching/${n.params.case_id}`
                          : `/cases/${n.referral_id}`
                    }
                    onClick={() => setOpen(false)}
                  >
                    {words.title}
                  </Link>
                ) : (
                  words.title
                )}
                <div className="muted small">{words.body}</div>
                {!n.read_at && (
                  <button type="button" className="link small" onClick={() => markRead.mutate(n.id)}>
                    {t("notifications.markRead")}
                  </button>
                )}
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}

export function LanguageSwitch() {
  const { t, i18n } = useTranslation();
  return (
    <label className="lang">
      <span className="visually-hidden">{t("session.language")}</span>
      <select value={i18n.language} onChange={(e) => setLanguage(e.target.value as Language)}>
        {LANGUAGES.map((lang) => (
          <option key={lang} value={lang}>
            {lang === "zh" ? "中文" : "English"}
          </option>
        ))}
      </select>
    </label>
  );
}

export function Shell({ children }: { children: ReactNode }) {
  const { t } = useTranslation();
  const { me, signOut } = useSession();
  const live = useLiveStatus();
  if (!me) return null;
  return (
    <div className="shell">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to={HOME[me.role]} className="brand">
          {t("app.name")} <span className="muted small">{t("app.tagline")}</span>
        </Link>
        <nav aria-label={t("nav.main")}>
          {NAV[me.role].map((item) => (
            <NavLink key={item.to} to={item.to} end>
              {t(item.label)}
            </NavLink>
          ))}
        </nav>
        <div className="spacer" />
        <span className={`live live-${live}`} role="status" title={t(`live.${live === "live" ? "connected" : "reconnecting"}`)}>
          ● {t(`live.${live === "live" ? "connected" : "reconnecting"}`)}
        </span>
        <Inbox />
        <LanguageSwitch />
        <span className="who">
          {me.name} · {t(`role.${me.role}`)}
        </span>
        <button type="button" onClick={() => signOut("signed_out")}>
          {t("session.signOut")}
        </button>
      </header>
      <main id="main">{children}</main>
    </div>
  );
}

/** Only the named roles see `children`; anyone else is sent to their own home, the signed-out to sign-in. */
export function RequireRole({ roles, children }: { roles: StaffRole[]; children: ReactNode }) {
  const { me, loading } = useSession();
  const location = useLocation();
  if (loading) return <Loading />;
  if (!me) return <Navigate to="/login" replace state={{ from: location.pathname + location.search }} />;
  if (!roles.includes(me.role)) return <Navigate to={HOME[me.role]} replace />;
  return <Shell>{children}</Shell>;
}
