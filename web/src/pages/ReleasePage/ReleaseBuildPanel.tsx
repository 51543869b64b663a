import type { Release, ReleaseBuild } from "../../api/types.js";
import { AsyncContent, type AsyncState } from "../../components/AsyncContent.js";
import { DeploymentConsole } from "../../components/DeploymentConsole.js";
import { StatusBadge } from "../../components/StatusBadge.js";

/** What the release's state means, in one line. */
export const RELEASE_STATE_TEXT: Record<Release["state"], string> = {
  building: "Building from source: not deployable until every image is pushed",
  ready: "Ready to deploy",
  failed: "The build failed: this release cannot be deployed",
  canceled: "The build was canceled: this release cannot be deployed",
};

/** A release built from source: its build's state, the failing step, the pushed images and the live build console. */
export function ReleaseBuildPanel(props: {
  buildId: string;
  state: AsyncState<ReleaseBuild>;
  eventsPath: string;
  onCancel: () => void;
  canceling: boolean;
  onEnd: () => void;
}) {
  return (
    <section className="card" aria-label="Build">
      <h2>Build</h2>
      <AsyncContent state={props.state} loadingLabel="Loading build…">
        {(b) => (
          <>
            <p>
              <StatusBadge status={b.status} /> commit <span className="mono">{b.commit.slice(0, 12)}</span> → registry{" "}
              <span className="mono">{b.registry}</span>{" "}
              {(b.status === "PENDING" || b.status === "RUNNING") && (
                <button type="button" onClick={props.onCancel} disabled={props.canceling}>
                  {props.canceling ? "Canceling…" : "Cancel build"}
                </button>
              )}
            </p>
            {b.status === "FAILED" && (
              <div className="notice error" role="alert">
                <strong>Build failed{b.failedService ? ` in service ${b.failedService}` : ""}</strong>
                {b.failedStep && (
                  <p>
                    at <code>{b.failedStep}</code>
                  </p>
                )}
                <p>{b.errorMessage}</p>
              </div>
            )}
            {b.images && (
              <ul aria-label="Pushed images">
                {Object.entries(b.images).map(([service, image]) => (
                  <li key={service}>
                    <code>{service}</code>: <span className="mono small">{image}</span>
                  </li>
                ))}
              </ul>
            )}
          </>
        )}
      </AsyncContent>
      <DeploymentConsole deploymentId={props.buildId} path={props.eventsPath} onEnd={props.onEnd} />
    </section>
  );
}
