import type { AgentInstall } from "../api/types.js";
import { CopyButton } from "./CopyButton.js";

/**
 * The two ways to start an agent with a fresh token, each a block to paste as it is. The token is in them (on an
 * `export` line, never as an argument), so they are shown once like the token itself.
 */
export function AgentInstallCommands(props: { install: AgentInstall; expiresAt: string }) {
  const methods = [
    { key: "docker", title: "With the agent image (docker run)", method: props.install.docker },
    { key: "fromSource", title: "From a checkout (Node 22)", method: props.install.fromSource },
  ] as const;
  return (
    <div className="agent-install">
      <p>
        Run one of these on a manager node of the Swarm. The token works once and expires{" "}
        {new Date(props.expiresAt).toLocaleString()}; it is passed in <code>{props.install.tokenVariable}</code>, never
        on a command line.
      </p>
      {methods.map(({ key, title, method }) => (
        <section key={key} className="secret" aria-label={title}>
          <div className="secret-head">
            <strong>{title}</strong>
            <CopyButton text={method.command} />
          </div>
          <pre className="secret-value" data-testid={`install-${key}`}>
            {method.command}
          </pre>
          <p className="muted small">
            Needs {method.requires}. State: {method.stateDir}.
          </p>
        </section>
      ))}
      <p className="muted small">Shown only this once. Copy it now; a new registration token replaces this one.</p>
    </div>
  );
}
