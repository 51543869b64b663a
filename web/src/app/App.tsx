import { Link, Navigate, Route, Routes } from "react-router-dom";
import type { ApiClient } from "../api/client.js";
import { ApiProvider } from "../api/hooks/context.js";
import { AuditPage } from "../pages/AuditPage/AuditPage.js";
import { ClusterPage } from "../pages/ClusterPage/ClusterPage.js";
import { ClustersPage } from "../pages/ClustersPage/ClustersPage.js";
import { LoginPage } from "../pages/LoginPage/LoginPage.js";
import { TokensPage } from "../pages/TokensPage/TokensPage.js";
import { UsersPage } from "../pages/UsersPage/UsersPage.js";
import { RequireSession, SessionWatcher } from "./Session.js";
import { Home, Shell } from "./Shell.js";

/** The route table; the caller supplies the router (BrowserRouter in the app, MemoryRouter in tests). */
export function App(props: { client: ApiClient }) {
  return (
    <ApiProvider client={props.client}>
      <SessionWatcher />
      <Routes>
        <Route path="/login" element={<LoginPage />} />
        <Route element={<RequireSession />}>
          <Route path="/" element={<Home />} />
          <Route path="/orgs/:orgId" element={<Shell />}>
            <Route index element={<Navigate to="clusters" replace />} />
            <Route path="clusters" element={<ClustersPage />} />
            <Route path="clusters/:clusterId" element={<ClusterPage />} />
            <Route path="tokens" element={<TokensPage />} />
            <Route path="users" element={<UsersPage />} />
            <Route path="audit" element={<AuditPage />} />
            <Route path="*" element={<NotFound />} />
          </Route>
          <Route path="*" element={<NotFound />} />
        </Route>
      </Routes>
    </ApiProvider>
  );
}

function NotFound() {
  return (
    <div className="content">
      <div className="notice">
        <strong>There is no page at this address.</strong>
        <p>
          <Link to="/">Go to the start page</Link>
        </p>
      </div>
    </div>
  );
}
