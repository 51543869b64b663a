import { Link } from "react-router-dom";
import type { EnvironmentDiff, ReleaseSummary, ServiceChange } from "../../api/types.js";
import { AsyncContent, type AsyncState } from "../../components/AsyncContent.js";
import { UnifiedDiff } from "../../components/Code.js";
import { PageHeader, PermittedButton } from "../../components/PageHeader.js";

export const sideLabel = (side: EnvironmentDiff["from"]): string =>
  side.kind === "current"
    ? side.releaseVersion === null
      ? "nothing deployed"
      : `current (v${side.releaseVersion})`
    : `v${side.releaseVersion ?? "?"}`;

const show = (v: unknown): string =>
  v === null || v === undefined ? "—" : typeof v === "string" ? v : JSON.stringify(v);

export function DiffView(props: {
  title: string;
  backHref: string;
  from: string;
  to: string;
  releases: ReleaseSummary[];
  onChange: (from: string, to: string) => void;
  /** Deploying the `to` release from here; absent where the page offers no deploy. */
  deploy?: { label: string; allowed: boolean; ready: boolean; onClick: () => void };
  state: AsyncState<EnvironmentDiff>;
}) {
  return (
    <>
      <p className="crumbs">
        <Link to={props.backHref}>← Environment</Link>
      </p>
      <PageHeader
        title={props.title}
        subtitle="What would change on the cluster: rendered with this environment’s overlay and secrets."
        actions={
          props.deploy &&
          (props.deploy.ready ? (
            <PermittedButton
              allowed={props.deploy.allowed}
              permission="deployments:write"
              onClick={props.deploy.onClick}
            >
              {props.deploy.label}
            </PermittedButton>
          ) : (
            <button type="button" disabled title="Loading the stack's releases">
              {props.deploy.label}
            </button>
          ))
        }
      />
      <form className="filters card" aria-label="Compare" onSubmit={(e) => e.preventDefault()}>
        <label>
          From
          <select value={props.from} onChange={(e) => props.onChange(e.target.value, props.to)}>
            <option value="current">Currently deployed</option>
            {props.releases.map((r) => (
              <option key={r.id} value={r.id}>
                v{r.version}
              </option>
            ))}
          </select>
        </label>
        <label>
          To
          <select value={props.to} onChange={(e) => props.onChange(props.from, e.target.value)}>
            {props.releases.map((r) => (
              <option key={r.id} value={r.id}>
                v{r.version}
              </option>
            ))}
          </select>
        </label>
      </form>
      <AsyncContent state={props.state} loadingLabel="Rendering both sides…">
        {(d) => (
          <>
            <section className="card">
              <h2>
                Services: {sideLabel(d.from)} → {sideLabel(d.to)}
              </h2>
              <ServicesDiff diff={d} />
            </section>
            <section className="card">
              <h2>Rendered compose file</h2>
              {d.unified.trim() ? <UnifiedDiff diff={d.unified} /> : <p className="muted">No difference.</p>}
            </section>
          </>
        )}
      </AsyncContent>
    </>
  );
}

/** What changes per service: added, removed, and changed with the keys that differ. */
export function ServicesDiff(props: { diff: EnvironmentDiff }) {
  const { added, removed, changed } = props.diff.services;
  if (!added.length && !removed.length && !changed.length) return <p className="muted">No service changes.</p>;
  return (
    <ul className="service-diff">
      {added.map((s) => (
        <li key={`+${s}`}>
          <span className="badge badge-good">added</span> <strong>{s}</strong>
        </li>
      ))}
      {removed.map((s) => (
        <li key={`-${s}`}>
          <span className="badge badge-bad">removed</span> <strong>{s}</strong>
        </li>
      ))}
      {changed.map((c) => (
        <li key={`~${c.name}`}>
          <span className="badge badge-warn">changed</span> <strong>{c.name}</strong>
          <ChangeDetails change={c} />
        </li>
      ))}
    </ul>
  );
}

function ChangeDetails(props: { change: ServiceChange }) {
  const c = props.change;
  const rows: Array<[string, string]> = [];
  if (c.image) rows.push(["image", `${show(c.image.from)} → ${show(c.image.to)}`]);
  if (c.replicas) rows.push(["replicas", `${show(c.replicas.from)} → ${show(c.replicas.to)}`]);
  if (c.resources) rows.push(["resources", `${show(c.resources.from)} → ${show(c.resources.to)}`]);
  if (c.envKeys) {
    const parts = [
      ...c.envKeys.added.map((k) => `+${k}`),
      ...c.envKeys.removed.map((k) => `−${k}`),
      ...c.envKeys.changed.map((k) => `~${k}`),
    ];
    rows.push(["environment", parts.join(" ")]);
  }
  for (const key of ["ports", "secrets", "networks"] as const) {
    const v = c[key];
    if (v) rows.push([key, [...v.added.map((x) => `+${x}`), ...v.removed.map((x) => `−${x}`)].join(" ")]);
  }
  if (c.otherKeys?.length) rows.push(["other keys", c.otherKeys.join(", ")]);
  return (
    <dl className="change-details">
      {rows.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd className="mono small">{v}</dd>
        </div>
      ))}
    </dl>
  );
}
