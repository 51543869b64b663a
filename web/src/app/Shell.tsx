import { Link, Navigate, Outlet, useNavigate } from "react-router-dom";
import { hasPermission, useLogout, useMe } from "../api/hooks/session.js";
import type { Me, Permission } from "../api/types.js";
import { ErrorNotice } from "../components/ErrorNotice.js";
import { Loading } from "../components/AsyncContent.js";
import { ShellView, type NavItem } from "../components/ShellView.js";
import { LiveIndicator, LiveUpdates } from "../api/live/LiveUpdates.js";
import { paths } from "./paths.js";
import { usePendingApprovals } from "../api/hooks/deployments.js";
import { useOrgId } from "./useOrgId.js";

const NAV: Array<{ label: string; permission: Permission; to: (orgId: string) => string }> = [
  { label: "Stacks", permission: "stacks:read", to: paths.stacks },
  { label: "Clusters", permission: "clusters:read", to: paths.clusters },
  { label: "Git credentials", permission: "stacks:read", to: paths.gitCredentials },
  { label: "Compose policy", permission: "clusters:read", to: paths.composePolicy },
  { label: "Registries", permission: "stacks:read", to: paths.registries },
  { label: "API tokens", permission: "tokens:read", to: paths.tokens },
  { label: "Integrations", permission: "integrations:read", to: paths.integrations },
  { label: "Alerts", permission: "alerts:read", to: paths.alerts },
  { label: "Notifications", permission: "notifications:read", to: paths.notifications },
  { label: "Users", permission: "users:read", to: paths.users },
  { label: "Audit", permission: "audit:read", to: paths.audit },
];

export function navFor(me: Me): NavItem[] {
  return NAV.filter((n) => hasPermission(me, n.permission)).map((n) => ({ label: n.label, to: n.to(me.org.id) }));
}

/** An org's pages: the session must be in that org (the API scopes every token to one org). */
export function Shell() {
  const orgId = useOrgId();
  const me = useMe();
  const navigate = useNavigate();
  const logout = useLogout();
  if (!me.data) {
    return (
      <div className="content">
        {me.error ? <ErrorNotice error={me.error} onRetry={() => void me.mutate()} /> : <Loading />}
      </div>
    );
  }
  const switchOrg = (target: string) => {
    const org = me.data?.orgs.find((o) => o.id === target);
    navigate(
      paths.login({ org: target, orgName: org?.name, email: me.data?.user.email, next: paths.clusters(target) }),
    );
  };
  const onLogout = () => void logout().then(() => navigate(paths.login()));
  const body =
    me.data.org.id === orgId ? <Outlet /> : <OtherOrg me={me.data} orgId={orgId} onSwitch={() => switchOrg(orgId)} />;
  return (
    <LiveUpdates orgId={me.data.org.id}>
      <ShellView
        me={me.data}
        nav={navFor(me.data)}
        onSwitchOrg={switchOrg}
        onLogout={onLogout}
        accountHref={paths.account(me.data.org.id)}
        indicator={
          <>
            {hasPermission(me.data, "deployments:read") && <ApprovalsBadge orgId={me.data.org.id} />}
            <LiveIndicator />
          </>
        }
      >
        {body}
      </ShellView>
    </LiveUpdates>
  );
}

/** "N approvals" in the header while deployments of the org wait for one (hidden when none do). */
function ApprovalsBadge(props: { orgId: string }) {
  const approvals = usePendingApprovals(props.orgId);
  const n = approvals.data?.items.length ?? 0;
  if (n === 0) return null;
  return (
    <Link to={paths.approvals(props.orgId)} className="badge badge-warn" aria-label={`${n} pending approvals`}>
      {n} pending approval{n === 1 ? "" : "s"}
    </Link>
  );
}

function OtherOrg(props: { me: Me; orgId: string; onSwitch: () => void }) {
  const target = props.me.orgs.find((o) => o.id === props.orgId);
  if (!target) {
    // A session sees only its own org: whether this email also has an account there is for a login to tell.
    return (
      <div className="notice" role="alert">
        <strong>This page belongs to another organization.</strong>
        <p>
          You are signed in to <b>{props.me.org.name}</b>. Each organization has its own login.{" "}
          <Link to={paths.clusters(props.me.org.id)}>Go to its clusters</Link>
        </p>
        <button type="button" onClick={props.onSwitch}>
          Log in to that organization
        </button>
      </div>
    );
  }
  return (
    <div className="notice" role="alert">
      <strong>This page is in {target.name}.</strong>
      <p>You are signed in to {props.me.org.name}. Each organization has its own login.</p>
      <button type="button" onClick={props.onSwitch}>
        Log in to {target.name}
      </button>
    </div>
  );
}

/** `/`: the current org's first page. */
export function Home() {
  const me = useMe();
  if (me.data) return <Navigate to={paths.clusters(me.data.org.id)} replace />;
  return (
    <div className="content">
      {me.error ? <ErrorNotice error={me.error} onRetry={() => void me.mutate()} /> : <Loading />}
    </div>
  );
}
