// Administration: hospitals, agreements, users and the change log, each a tab with its own routes
// (/admin/hospitals, /admin/hospitals/new, /admin/hospitals/{id}, …) so a form can be linked to and reloaded.
import { useTranslation } from "react-i18next";
import { Navigate, NavLink, Route, Routes } from "react-router-dom";

import AgreementsTab from "./AgreementsTab";
import ChangeLog from "./ChangeLog";
import HospitalsTab from "./HospitalsTab";
import RetentionTab from "./RetentionTab";
import UsersTab from "./UsersTab";

const TABS = ["hospitals", "agreements", "users", "changes", "retention"] as const;

export default function AdminPage() {
  const { t } = useTranslation("admin");
  return (
    <div className="admin">
      <h1>{t("title")}</h1>
      <nav className="tabs" aria-label={t("tabs.label")}>
        {TABS.map((tab) => (
          <NavLink key={tab} to={`/admin/${tab}`}>
            {t(`tabs.${tab}`)}
          </NavLink>
        ))}
      </nav>
      <Routes>
        <Route index element={<Navigate to="hospitals" replace />} />
        <Route path="hospitals/*" element={<HospitalsTab />} />
        <Route path="agreements/*" element={<AgreementsTab />} />
        <Route path="users/*" element={<UsersTab />} />
        <Route path="changes" element={<ChangeLog />} />
        <Route path="retention" element={<RetentionTab />} />
        <Route path="*" element={<Navigate to="hospitals" replace />} />
      </Routes>
    </div>
  );
}
