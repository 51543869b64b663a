import { Link } from "react-router-dom";
import type { Release, StackDetail } from "../../api/types.js";
import { AsyncContent, type AsyncState } from "../../components/AsyncContent.js";
import { CodeView } from "../../components/Code.js";
import { CopyButton } from "../../components/CopyButton.js";
import { PageHeader } from "../../components/PageHeader.js";
import { formatDateTime } from "../../components/RelativeTime.js";
import { ReleaseManifest } from "./ReleaseManifest.js";
import { RELEASE_STATE_TEXT } from "./ReleaseBuildPanel.js";
import { StatusBadge } from "../../components/StatusBadge.js";
import type { ReactNode } from "react";

type StackEnvironment = StackDetail["environments"][number];

/** Where this release can go: each environment of the stack, with what it runs, to review the diff and deploy. */
function DeployTargets(props: {
  version: number;
  state: AsyncState<StackEnvironment[]>;
  deployHref: (envId: string) => string;
}) {
  return (
    <section className="card" aria-label="Deploy this release">
      <h2>Deploy</h2>
      <AsyncContent
        state={props.state}
        loadingLabel="Loading environments…"
        isEmpty={(envs) => envs.length === 0}
        empty={<p className="muted">The stack has no environments yet; add one on the stack page.</p>}
      >
        {(envs) => (
          <ul className="deploy-targets">
            {envs.map((e) => (
              <li key={e.id}>
                <Link className="button-link" to={props.deployHref(e.id)}>
                  Deploy v{props.version} to {e.name}…
                </Link>{" "}
                <span className="muted small">
                  {e.lastDeployment
                    ? `last deployment v${e.lastDeployment.releaseVersion} ${e.lastDeployment.status.toLowerCase()}`
                    : "nothing deployed yet"}
                  {" · shows the diff first"}
                </span>
              </li>
            ))}
          </ul>
        )}
      </AsyncContent>
    </section>
  );
}

export function ReleaseView(props: {
  state: AsyncState<Release>;
  environments: AsyncState<StackEnvironment[]>;
  stackHref: (stackId: string) => string;
  deployHref: (envId: string) => string;
  /** The build panel of a release built from source (ReleaseBuildPanel). */
  build?: ReactNode;
}) {
  return (
    <AsyncContent state={props.state} loadingLabel="Loading release…">
      {(r) => (
        <>
          <p className="crumbs">
            <Link to={props.stackHref(r.stackId)}>← Stack</Link>
          </p>
          <PageHeader
            title={`Release v${r.version}`}
            subtitle={
              <>
                {r.sourceType === "git" ? "From git" : "Uploaded"} {formatDateTime(r.createdAt)}
                {r.sourceRef && (
                  <>
                    {" "}
                    · <span className="mono">{r.sourceRef}</span>
                  </>
                )}{" "}
                · sha256 <span className="mono small">{r.sha256}</span>
              </>
            }
            actions={<CopyButton text={r.composeYaml} label="Copy YAML" />}
          />
          <p className="release-state">
            <StatusBadge status={r.state} /> <span className="muted">{RELEASE_STATE_TEXT[r.state]}</span>
          </p>
          {props.build}
          {r.warnings.length > 0 && (
            <div className="notice">
              <strong>Swarm ignores parts of this file</strong>
              <ul>
                {r.warnings.map((w, i) => (
                  <li key={i}>
                    {w.service && (
                      <>
                        service <code>{w.service}</code>:{" "}
                      </>
                    )}
                    {w.message}
                  </li>
                ))}
              </ul>
            </div>
          )}
          {r.state === "ready" && (
            <DeployTargets version={r.version} state={props.environments} deployHref={props.deployHref} />
          )}
          <ReleaseManifest release={r} />
          <CodeView text={r.composeYaml} label={`Compose file of release v${r.version}`} />
        </>
      )}
    </AsyncContent>
  );
}
