import { useState, type FormEvent } from "react";
import { Link } from "react-router-dom";
import type { EnvironmentOverview, StackOverview } from "../../api/types.js";
import { AsyncContent, type AsyncState } from "../../components/AsyncContent.js";
import { Dialog } from "../../components/Dialog.js";
import { ErrorNotice } from "../../components/ErrorNotice.js";
import { PageHeader, PermittedButton } from "../../components/PageHeader.js";
import { RelativeTime } from "../../components/RelativeTime.js";
import { StatusBadge } from "../../components/StatusBadge.js";
import { clusterStatusLabel } from "../../components/ClusterStatusBadge.js";
import { Field } from "../../components/Field.js";

/** What the health badge says, and why when it cannot say more. */
export function healthText(e: EnvironmentOverview): { label: string; title: string } {
  const r = e.replicas;
  switch (e.health) {
    case "healthy":
    case "degraded":
      return {
        label: `${e.health} ${r ? `${r.running}/${r.desired}` : ""}`.trim(),
        title: `${r?.services ?? 0} services, ${r?.running ?? 0} of ${r?.desired ?? 0} replicas running (last inventory)`,
      };
    case "not_running":
      return { label: "not running", title: "The cluster's last inventory has none of this environment's services" };
    default:
      return {
        label: "unknown",
        title: `Unknown: the cluster ${e.cluster.name ?? ""} is ${clusterStatusLabel(e.cluster.status)}, so its last inventory may be stale`,
      };
  }
}

function EnvironmentRows(props: {
  environments: EnvironmentOverview[];
  environmentHref: (id: string) => string;
  deploymentHref: (id: string) => string;
  clusterHref: (id: string) => string;
}) {
  if (props.environments.length === 0) return <span className="muted small">No environments yet.</span>;
  return (
    <ul className="env-overview">
      {props.environments.map((e) => {
        const h = healthText(e);
        return (
          <li key={e.id} data-environment={e.name}>
            <Link to={props.environmentHref(e.id)} className="env-name">
              {e.name}
            </Link>{" "}
            <span data-testid="health">
              <StatusBadge status={h.label} title={h.title} />
            </span>
            {e.health === "unknown" && (
              <span className="muted small">
                {" "}
                (cluster {clusterStatusLabel(e.cluster.status)}
                {e.observedAt ? (
                  <>
                    , last seen <RelativeTime iso={e.observedAt} />
                  </>
                ) : null}
                )
              </span>
            )}
            <span className="small">
              {" "}
              on <Link to={props.clusterHref(e.cluster.id)}>{e.cluster.name ?? "a deleted cluster"}</Link>
              {" · "}
              {e.currentRelease ? (
                <span data-testid="current-release" title={`deployed ${e.currentRelease.deployedAt}`}>
                  runs v{e.currentRelease.version}
                </span>
              ) : (
                <span className="muted">nothing deployed</span>
              )}
              {e.lastDeployment && (
                <>
                  {" · last deploy "}
                  <Link to={props.deploymentHref(e.lastDeployment.id)} data-testid="last-deploy">
                    v{e.lastDeployment.releaseVersion} {e.lastDeployment.status.toLowerCase()}
                  </Link>{" "}
                  <RelativeTime iso={e.lastDeployment.finishedAt ?? e.lastDeployment.createdAt} />
                </>
              )}
            </span>
          </li>
        );
      })}
    </ul>
  );
}

export function StacksView(props: {
  state: AsyncState<StackOverview[]>;
  stackHref: (s: StackOverview) => string;
  environmentHref: (id: string) => string;
  deploymentHref: (id: string) => string;
  clusterHref: (id: string) => string;
  canCreate: boolean;
  onCreate: () => void;
}) {
  return (
    <>
      <PageHeader
        title="Stacks"
        subtitle="Applications: a compose file, released in immutable versions and deployed to environments."
        actions={
          <PermittedButton allowed={props.canCreate} permission="stacks:write" onClick={props.onCreate}>
            New stack
          </PermittedButton>
        }
      />
      <AsyncContent
        state={props.state}
        loadingLabel="Loading stacks…"
        isEmpty={(items) => items.length === 0}
        empty={
          <>
            <p>No stacks yet.</p>
            <p className="muted">Create one, upload its compose file as a release, then add an environment.</p>
          </>
        }
      >
        {(items) => (
          <table className="table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Environments</th>
                <th>Created</th>
              </tr>
            </thead>
            <tbody>
              {items.map((s) => (
                <tr key={s.id} data-stack={s.name}>
                  <td>
                    <Link to={props.stackHref(s)}>{s.name}</Link>
                    {s.description && <div className="muted small">{s.description}</div>}
                  </td>
                  <td>
                    <EnvironmentRows
                      environments={s.environments}
                      environmentHref={props.environmentHref}
                      deploymentHref={props.deploymentHref}
                      clusterHref={props.clusterHref}
                    />
                  </td>
                  <td>
                    <RelativeTime iso={s.createdAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </AsyncContent>
    </>
  );
}

export function CreateStackDialog(props: {
  busy: boolean;
  error: unknown;
  onSubmit: (input: { name: string; description?: string }) => void;
  onClose: () => void;
}) {
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    props.onSubmit({ name: name.trim(), ...(description.trim() ? { description: description.trim() } : {}) });
  };
  return (
    <Dialog title="New stack" onClose={props.onClose}>
      <form onSubmit={submit}>
        <Field label="Name" hint={<>The Swarm stack name: lowercase letters, digits, dashes and underscores.</>}>
          <input
            name="name"
            required
            pattern="[a-z0-9][a-z0-9_\-]{0,62}"
            placeholder="shop"
            value={name}
            onChange={(e) => setName(e.target.value)}
            autoFocus
          />
        </Field>
        <label>
          Description
          <input
            name="description"
            maxLength={1000}
            value={description}
            onChange={(e) => setDescription(e.target.value)}
          />
        </label>
        {props.error ? <ErrorNotice error={props.error} compact /> : null}
        <div className="actions">
          <button type="button" className="secondary" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" disabled={props.busy}>
            {props.busy ? "Creating…" : "Create stack"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
