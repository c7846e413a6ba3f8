// Routes. Each role's screens sit behind <RequireRole>; the patient's share page is public (the link is the key).
import { lazy, Suspense } from "react";
import { Navigate, Route, Routes } from "react-router-dom";

import { useSession } from "./auth/session";
import { Loading } from "./components/ErrorMessage";
import { HOME, RequireRole } from "./components/Shell";

// The sign-in form (react-hook-form + zod) is its own chunk: a signed-in person never downloads it.
const Login = lazy(() => import("./pages/Login"));
const MyCases = lazy(() => import("./pages/county/MyCases"));
const NewReferral = lazy(() => import("./pages/county/NewReferral"));
const CasePage = lazy(() => import("./pages/case/CasePage"));
const Worklist = lazy(() => import("./pages/reading/Worklist"));
const ReadingPage = lazy(() => import("./pages/reading/ReadingPage"));
const ReviewQueue = lazy(() => import("./pages/reading/ReviewQueue"));
const Dashboard = lazy(() => import("./pages/coordination/Dashboard"));
const SharePage = lazy(() => import("./pages/patient/SharePage"));
const FilmPortal = lazy(() => import("./pages/film/FilmPortal"));
const FilmStudy = lazy(() => import("./pages/film/FilmStudy"));
const ClinicianView = lazy(() => import("./pages/film/ClinicianView"));
const AdminPage = lazy(() => import("./pages/admin/AdminPage"));
const GatewayQuarantine = lazy(() => import("./pages/gateway/GatewayQuarantine"));
const ReportDeliveries = lazy(() => import("./pages/gateway/ReportDeliveries"));
const Library = lazy(() => import("./pages/teaching/Library"));
const TeachingCasePage = lazy(() => import("./pages/teaching/TeachingCasePage"));
const UnknownCase = lazy(() => import("./pages/teaching/UnknownCase"));
const TeachingQueue = lazy(() => import("./pages/teaching/Queue"));
const TeachingHistory = lazy(() => import("./pages/teaching/History"));
const CollectionList = lazy(() => import("./pages/teaching/Collections").then((m) => ({ default: m.CollectionList })));
const CollectionPage = lazy(() => import("./pages/teaching/Collections").then((m) => ({ default: m.CollectionPage })));
// Every doctor learns from the library; educators curate it.
const LEARNERS = ["county_doctor", "expert", "senior", "coordinator", "admin", "educator"] as const;
const SearchPage = lazy(() => import("./pages/search/SearchPage"));
// Report search: whoever sends or reads cases; each finds what the worklist's access rule lets them see.
const SEARCHERS = ["county_doctor", "expert", "senior", "coordinator", "admin"] as const;
const ConsultList = lazy(() => import("./pages/consult/ConsultList"));
const NewConsult = lazy(() => import("./pages/consult/NewConsult"));
const ConsultPage = lazy(() => import("./pages/consult/ConsultPage"));
const ConsultRoom = lazy(() => import("./pages/consult/room/ConsultRoom"));

const CONSULT_ROLES = ["county_doctor", "expert", "senior", "coordinator"] as const;
const LectureCatalogue = lazy(() => import("./pages/lecture/Catalogue"));
const LecturePage = lazy(() => import("./pages/lecture/LecturePage"));
const SpeakerPage = lazy(() => import("./pages/lecture/SpeakerPage"));
const ScheduleLecture = lazy(() => import("./pages/lecture/ScheduleLecture"));
const LectureAttendance = lazy(() => import("./pages/lecture/Attendance"));
const MyCredits = lazy(() => import("./pages/lecture/MyCredits"));
// Lectures: everyone of the alliance watches (the server checks each lecture's audience); educators and
// coordinators schedule them and see attendance.
const WATCHERS = ["county_doctor", "expert", "senior", "coordinator", "admin", "educator"] as const;

function Home() {
  const { me, loading } = useSession();
  if (loading) return <Loading />;
  return <Navigate to={me ? HOME[me.role] : "/login"} replace />;
}

export default function App() {
  return (
    <Suspense fallback={<Loading />}>
      <Routes>
        <Route path="/login" element={<Login />} />
        <Route path="/s/:token" element={<SharePage />} />
        <Route path="/film" element={<FilmPortal />} />
        <Route path="/film/studies/:uid" element={<FilmStudy />} />
        <Route path="/c/:token" element={<ClinicianView />} />
        <Route path="/cases" element={<RequireRole roles={["county_doctor"]}><MyCases /></RequireRole>} />
        <Route path="/cases/new" element={<RequireRole roles={["county_doctor"]}><NewReferral /></RequireRole>} />
        <Route
          path="/cases/:id"
          element={<RequireRole roles={["county_doctor", "expert", "senior", "coordinator", "admin"]}><CasePage /></RequireRole>}
        />
        <Route path="/worklist" element={<RequireRole roles={["expert", "senior", "coordinator"]}><Worklist /></RequireRole>} />
        <Route path="/read/:id" element={<RequireRole roles={["expert", "senior"]}><ReadingPage /></RequireRole>} />
        <Route path="/review" element={<RequireRole roles={["senior"]}><ReviewQueue /></RequireRole>} />
        <Route path="/dashboard" element={<RequireRole roles={["coordinator"]}><Dashboard /></RequireRole>} />
        <Route path="/consults" element={<RequireRole roles={[...CONSULT_ROLES]}><ConsultList /></RequireRole>} />
        <Route path="/consults/new" element={<RequireRole roles={["expert", "senior", "coordinator"]}><NewConsult /></RequireRole>} />
        <Route path="/consults/:id" element={<RequireRole roles={[...CONSULT_ROLES]}><ConsultPage /></RequireRole>} />
        <Route path="/consults/:id/room" element={<RequireRole roles={[...CONSULT_ROLES]}><ConsultRoom /></RequireRole>} />
        <Route path="/search" element={<RequireRole roles={[...SEARCHERS]}><SearchPage /></RequireRole>} />
        <Route path="/admin/*" element={<RequireRole roles={["admin"]}><AdminPage /></RequireRole>} />
        <Route path="/gateway-quarantine" element={<RequireRole roles={["admin", "coordinator"]}><GatewayQuarantine /></RequireRole>} />
        <Route
          path="/report-deliveries"
          element={<RequireRole roles={["county_doctor", "coordinator", "admin"]}><ReportDeliveries /></RequireRole>}
        />
        <Route path="/teaching" element={<RequireRole roles={[...LEARNERS]}><Library /></RequireRole>} />
        <Route path="/teaching/queue" element={<RequireRole roles={["educator"]}><TeachingQueue /></RequireRole>} />
        <Route path="/teaching/history" element={<RequireRole roles={[...LEARNERS]}><TeachingHistory /></RequireRole>} />
        <Route path="/teaching/collections" element={<RequireRole roles={[...LEARNERS]}><CollectionList /></RequireRole>} />
        <Route
          path="/teaching/collections/:id"
          element={<RequireRole roles={[...LEARNERS]}><CollectionPage /></RequireRole>}
        />
        <Route path="/teaching/:id" element={<RequireRole roles={[...LEARNERS]}><TeachingCasePage /></RequireRole>} />
        <Route path="/teaching/:id/unknown" element={<RequireRole roles={[...LEARNERS]}><UnknownCase /></RequireRole>} />
        <Route path="/lectures" element={<RequireRole roles={[...WATCHERS]}><LectureCatalogue /></RequireRole>} />
        <Route path="/lectures/new" element={<RequireRole roles={["educator", "coordinator"]}><ScheduleLecture /></RequireRole>} />
        <Route path="/lectures/credits" element={<RequireRole roles={[...WATCHERS]}><MyCredits /></RequireRole>} />
        <Route path="/lectures/:id" element={<RequireRole roles={[...WATCHERS]}><LecturePage /></RequireRole>} />
        <Route path="/lectures/:id/speak" element={<RequireRole roles={["expert", "senior", "educator", "coordinator"]}><SpeakerPage /></RequireRole>} />
        <Route path="/lectures/:id/attendance" element={<RequireRole roles={["educator", "coordinator", "admin"]}><LectureAttendance /></RequireRole>} />
        <Route path="*" element={<Home />} />
      </Routes>
    </Suspense>
  );
}
