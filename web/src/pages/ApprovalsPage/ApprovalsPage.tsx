import { Link } from "react-router-dom";
import { usePendingApprovals } from "../../api/hooks/deployments.js";
import { paths } from "../../app/paths.js";
import { useOrgId } from "../../app/useOrgId.js";
import { AsyncContent } from "../../components/AsyncContent.js";
import { PageHeader } from "../../components/PageHeader.js";
import { RelativeTime } from "../../components/RelativeTime.js";

/** The org's deployments awaiting approval, oldest first; each opens its deployment page to approve or reject. */
export function ApprovalsPage() {
  const orgId = useOrgId();
  const approvals = usePendingApprovals(orgId);
  return (
    <>
      <PageHeader title="Pending approvals" subtitle="Deployments that wait for an approval before they start" />
      <section className="card">
        <AsyncContent
          state={{
            data: approvals.data?.items,
            error: approvals.error,
            isLoading: approvals.isLoading,
            onRetry: () => void approvals.mutate(),
          }}
          loadingLabel="Loading pending approvals…"
          isEmpty={(items) => items.length === 0}
          empty={<p className="muted">No deployment is waiting for an approval.</p>}
        >
          {(items) => (
            <table className="table">
              <thead>
                <tr>
                  <th>Deployment</th>
                  <th>Stack / environment</th>
                  <th>Approval by</th>
                  <th>Requested</th>
                  <th>You</th>
                </tr>
              </thead>
              <tbody>
                {items.map((a) => (
                  <tr key={a.deploymentId}>
                    <td>
                      <Link to={paths.deployment(orgId, a.deploymentId)}>
                        {a.promotedFrom ? "Promotion" : a.kind === "rollback" ? "Rollback" : "Deploy"} of v
                        {a.release.version}
                      </Link>
                      {a.promotedFrom?.environmentName ? ` from ${a.promotedFrom.environmentName}` : ""}
                    </td>
                    <td>
                      {a.stack.name} / {a.environment.name}
                    </td>
                    <td>{a.approvalRole} or ORG_ADMIN</td>
                    <td>
                      <RelativeTime iso={a.createdAt} />
                    </td>
                    <td>{a.canDecide ? "may decide" : <span className="muted">another user must decide</span>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </AsyncContent>
      </section>
    </>
  );
}
