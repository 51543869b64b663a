import { AlertsPage } from "../pages/AlertsPage/AlertsPage.js";
import { ApprovalsPage } from "../pages/ApprovalsPage/ApprovalsPage.js";
import { Link, Navigate, Route, Routes } from "react-router-dom";
import type { SWRConfiguration } from "swr";
import type { ApiClient } from "../api/client.js";
import { ApiProvider } from "../api/hooks/context.js";
import { LiveUpdatesEnabled } from "../api/live/LiveUpdates.js";
import { AccountPage } from "../pages/AccountPage/AccountPage.js";
import { AuditPage } from "../pages/AuditPage/AuditPage.js";
import { ComposePolicyPage } from "../pages/ComposePolicyPage/ComposePolicyPage.js";
import { DeploymentPage } from "../pages/DeploymentPage/DeploymentPage.js";
import { ServicePage } from "../pages/ServicePage/ServicePage.js";
import { DiffPage } from "../pages/DiffPage/DiffPage.js";
import { EnvironmentPage } from "../pages/EnvironmentPage/EnvironmentPage.js";
import { ReleasePage } from "../pages/ReleasePage/ReleasePage.js";
import { StackPage } from "../pages/StackPage/StackPage.js";
import { StacksPage } from "../pages/StacksPage/StacksPage.js";
import { ClusterPage } from "../pages/ClusterPage/ClusterPage.js";
import { ClustersPage } from "../pages/ClustersPage/ClustersPage.js";
import { GitCredentialsPage } from "../pages/GitCredentialsPage/GitCredentialsPage.js";
import { LoginPage } from "../pages/LoginPage/LoginPage.js";
import { TokensPage } from "../pages/TokensPage/TokensPage.js";
import { RegistriesPage } from "../pages/RegistriesPage/RegistriesPage.js";
import { IntegrationsPage } from "../pages/IntegrationsPage/IntegrationsPage.js";
import { NotificationsPage } from "../pages/NotificationsPage/NotificationsPage.js";
import { UsersPage } from "../pages/UsersPage/UsersPage.js";
import { RequireSession, SessionWatcher } from "./Session.js";
import { Home, Shell } from "./Shell.js";

/** The route table; the caller supplies the router (BrowserRouter in the app, MemoryRouter in tests). */
export function App(props: { client: ApiClient; swr?: SWRConfiguration; live?: boolean }) {
  return (
    <LiveUpdatesEnabled.Provider value={props.live ?? true}>
      <ApiProvider client={props.client} {...(props.swr ? { swr: props.swr } : {})}>
        <SessionWatcher />
        <Routes>
          <Route path="/login" element={<LoginPage />} />
          <Route element={<RequireSession />}>
            <Route path="/" element={<Home />} />
            <Route path="/orgs/:orgId" element={<Shell />}>
              <Route index element={<Navigate to="clusters" replace />} />
              <Route path="stacks" element={<StacksPage />} />
              <Route path="stacks/:stackId" element={<StackPage />} />
              <Route path="releases/:releaseId" element={<ReleasePage />} />
              <Route path="environments/:envId" element={<EnvironmentPage />} />
              <Route path="environments/:envId/diff" element={<DiffPage />} />
              <Route path="environments/:envId/services/:service" element={<ServicePage />} />
              <Route path="deployments/:deploymentId" element={<DeploymentPage />} />
              <Route path="clusters" element={<ClustersPage />} />
              <Route path="clusters/:clusterId" element={<ClusterPage />} />
              <Route path="tokens" element={<TokensPage />} />
              <Route path="integrations" element={<IntegrationsPage />} />
              <Route path="notifications" element={<NotificationsPage />} />
              <Route path="alerts" element={<AlertsPage />} />
              <Route path="git-credentials" element={<GitCredentialsPage />} />
              <Route path="registries" element={<RegistriesPage />} />
              <Route path="users" element={<UsersPage />} />
              <Route path="audit" element={<AuditPage />} />
              <Route path="approvals" element={<ApprovalsPage />} />
              <Route path="settings/compose-policy" element={<ComposePolicyPage />} />
              <Route path="account" element={<AccountPage />} />
              <Route path="*" element={<NotFound />} />
            </Route>
            <Route path="*" element={<NotFound />} />
          </Route>
        </Routes>
      </ApiProvider>
    </LiveUpdatesEnabled.Provider>
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
