import type { Release } from "../../api/types.js";
import { CodeView } from "../../components/Code.js";

type Manifest = NonNullable<Release["manifest"]>;
type Hook = NonNullable<NonNullable<Manifest["hooks"]>["pre_deploy"]>;

/** A hook's timeout when the manifest does not set one (services/stacks/manifest.ts). */
const DEFAULT_HOOK_TIMEOUT_SECONDS = 300;

const PHASES = [
  { key: "pre_deploy", label: "Before the services update", failure: "a failure aborts before any service changes" },
  {
    key: "post_deploy",
    label: "After the services converged",
    failure: "a failure marks the deployment failed (the environment's failure policy applies)",
  },
] as const;

/** The release manifest (stackyard.yaml): deploy timeout, the hooks a deployment runs, and the file itself. */
export function ReleaseManifest(props: { release: Pick<Release, "version" | "manifest" | "manifestYaml"> }) {
  const { manifest, manifestYaml, version } = props.release;
  if (!manifest || manifestYaml === null) {
    return (
      <section className="card" aria-label="Release manifest">
        <h2>Manifest</h2>
        <p className="muted">No stackyard.yaml: no hooks; the environment's deploy timeout applies.</p>
      </section>
    );
  }
  const hooks = PHASES.flatMap((p) => {
    const hook: Hook | undefined = manifest.hooks?.[p.key];
    return hook ? [{ ...p, hook }] : [];
  });
  return (
    <section className="card" aria-label="Release manifest">
      <h2>Manifest</h2>
      <p>
        Deploy timeout:{" "}
        {manifest.deploy?.timeoutSeconds !== undefined
          ? `${manifest.deploy.timeoutSeconds}s (replaces the environment's)`
          : "the environment's"}
      </p>
      {hooks.length === 0 ? (
        <p className="muted">No hooks.</p>
      ) : (
        <table>
          <caption>Hooks (each a one-off Swarm job, its output in the deployment's console)</caption>
          <thead>
            <tr>
              <th scope="col">Hook</th>
              <th scope="col">Runs with service</th>
              <th scope="col">Command</th>
              <th scope="col">Timeout</th>
            </tr>
          </thead>
          <tbody>
            {hooks.map(({ key, label, failure, hook }) => (
              <tr key={key}>
                <th scope="row">
                  <code>{key}</code>
                  <div className="muted small">
                    {label}; {failure}
                  </div>
                </th>
                <td>
                  <code>{hook.service}</code>
                </td>
                <td className="mono">
                  {hook.command.map((c) => (/[\s"']/.test(c) ? JSON.stringify(c) : c)).join(" ")}
                </td>
                <td>{hook.timeoutSeconds ?? DEFAULT_HOOK_TIMEOUT_SECONDS}s</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <CodeView text={manifestYaml} label={`stackyard.yaml of release v${version}`} />
    </section>
  );
}
