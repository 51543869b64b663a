import { useState, type FormEvent } from "react";
import type {
  Environment,
  Preview,
  PreviewList,
  PreviewSettings,
  PreviewSettingsInput,
  SyncSource,
} from "../../api/types.js";
import { ApiError } from "../../api/client.js";
import { AsyncContent, type AsyncState } from "../../components/AsyncContent.js";
import { ConfirmDialog, Dialog } from "../../components/Dialog.js";
import { ErrorNotice } from "../../components/ErrorNotice.js";
import { Field } from "../../components/Field.js";
import { PermittedButton } from "../../components/PageHeader.js";
import { RelativeTime } from "../../components/RelativeTime.js";
import { StatusBadge } from "../../components/StatusBadge.js";

/** The stack page's previews card: one row per pull request's environment, and the settings that make them. */
export function PreviewsView(props: {
  previews: AsyncState<PreviewList>;
  settings: AsyncState<PreviewSettings>;
  environmentHref: (environmentId: string) => string;
  /** The release page: a preview that builds shows its build's output there. */
  releaseHref: (releaseId: string) => string;
  deploymentHref: (deploymentId: string) => string;
  canWrite: boolean;
  canDestroy: boolean;
  onEditSettings: () => void;
  onDestroy: (preview: Preview) => void;
}) {
  const notSetUp =
    props.settings.error instanceof ApiError && props.settings.error.code === "PREVIEW_SETTINGS_NOT_FOUND";
  return (
    <section className="card" aria-labelledby="previews-heading">
      <div className="card-header">
        <h2 id="previews-heading">Preview environments</h2>
        <PermittedButton
          allowed={props.canWrite}
          permission="stacks:write"
          className="secondary"
          onClick={props.onEditSettings}
        >
          Preview settings…
        </PermittedButton>
      </div>
      {notSetUp ? (
        <p className="muted">
          Previews are off. Set them up to get an environment <code>pr-&lt;number&gt;</code> for every pull request of
          the stack's git source.
        </p>
      ) : props.settings.data ? (
        <p className="muted small">
          From template {props.settings.data.templateEnvironmentId.slice(0, 8)} · idle TTL{" "}
          {Math.round(props.settings.data.ttlSeconds / 60)} min
          {props.settings.data.enabled ? "" : " · disabled"}
        </p>
      ) : null}
      <AsyncContent
        state={props.previews}
        loadingLabel="Loading previews…"
        isEmpty={(p) => p.items.length === 0}
        empty={<p className="muted">No previews yet: they appear when a pull request opens.</p>}
      >
        {(list) => (
          <>
            <p className="muted small">
              {list.quota.live} of {list.quota.limit} live previews of the org
            </p>
            <table className="table" aria-label="Previews">
              <thead>
                <tr>
                  <th>PR</th>
                  <th>Branch</th>
                  <th>Commit</th>
                  <th>Status</th>
                  <th>Age</th>
                  <th>URL</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {list.items.map((p) => (
                  <tr key={p.id} data-testid={`preview-${p.prNumber}`}>
                    <td>
                      {p.environmentId ? (
                        <a href={props.environmentHref(p.environmentId)}>#{p.prNumber}</a>
                      ) : (
                        `#${p.prNumber}`
                      )}
                      {p.title && <div className="muted small">{p.title}</div>}
                    </td>
                    <td className="mono small">{p.branch}</td>
                    <td className="mono small" title={p.commit}>
                      {p.commit.slice(0, 12)}
                    </td>
                    <td>
                      <StatusBadge status={p.status} title={p.destroyReason ?? undefined} />
                      {p.buildId && p.releaseId && (
                        <div className="small">
                          <a href={props.releaseHref(p.releaseId)}>build output</a>
                        </div>
                      )}
                      {p.deploymentId && (
                        <div className="small">
                          <a href={props.deploymentHref(p.deploymentId)}>deployment</a>
                        </div>
                      )}
                      {p.error && (
                        <div className="small error" role="note">
                          <span className="mono">{p.error.code}</span>: {p.error.message}
                        </div>
                      )}
                    </td>
                    <td>
                      <RelativeTime iso={p.createdAt} />
                    </td>
                    <td>
                      {p.url ? (
                        <a href={p.url} target="_blank" rel="noreferrer">
                          {p.url}
                        </a>
                      ) : (
                        <span className="muted">—</span>
                      )}
                    </td>
                    <td>
                      {p.destroyedAt === null && p.status !== "destroying" && (
                        <PermittedButton
                          allowed={props.canDestroy}
                          permission="deployments:write"
                          className="danger small"
                          onClick={() => props.onDestroy(p)}
                        >
                          Destroy
                        </PermittedButton>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )}
      </AsyncContent>
    </section>
  );
}

export function DestroyPreviewDialog(props: {
  preview: Preview;
  busy: boolean;
  error: unknown;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  return (
    <ConfirmDialog
      title={`Destroy preview pr-${props.preview.prNumber}?`}
      confirmLabel="Destroy preview"
      busy={props.busy}
      error={props.error ? <ErrorNotice error={props.error} compact /> : null}
      onConfirm={props.onConfirm}
      onCancel={props.onCancel}
    >
      Its Swarm stack (services, networks, secrets, configs) and the environment are removed. A new push to the pull
      request creates it again.
    </ConfirmDialog>
  );
}

/** The preview settings form: source, template, copied secrets, limits, TTL, and the forge to post back to. */
export function PreviewSettingsDialog(props: {
  current: PreviewSettings | undefined;
  sources: SyncSource[] | undefined;
  environments: Environment[];
  busy: boolean;
  error: unknown;
  onSubmit: (input: PreviewSettingsInput) => void;
  onClose: () => void;
}) {
  const c = props.current;
  const [sourceId, setSourceId] = useState(c?.sourceId ?? props.sources?.[0]?.id ?? "");
  const [templateId, setTemplateId] = useState(c?.templateEnvironmentId ?? props.environments[0]?.id ?? "");
  const [secrets, setSecrets] = useState((c?.copySecrets ?? []).join(", "));
  const [cpus, setCpus] = useState(c?.limits.cpus ?? "");
  const [memory, setMemory] = useState(c?.limits.memory ?? "");
  const [ttlMinutes, setTtlMinutes] = useState(String(Math.round((c?.ttlSeconds ?? 86_400) / 60)));
  const [urlHost, setUrlHost] = useState(c?.urlHost ?? "localhost");
  const [forgeKind, setForgeKind] = useState<"" | "github" | "gitlab" | "gitea">(c?.forge?.kind ?? "");
  const [apiUrl, setApiUrl] = useState(c?.forge?.apiUrl ?? "");
  const [repo, setRepo] = useState(c?.forge?.repo ?? "");
  const [token, setToken] = useState("");
  const [enabled, setEnabled] = useState(c?.enabled ?? true);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    props.onSubmit({
      enabled,
      sourceId,
      templateEnvironmentId: templateId,
      copySecrets: secrets
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean),
      limits: { cpus: cpus.trim() || null, memory: memory.trim() || null },
      ttlSeconds: Math.max(1, Number(ttlMinutes)) * 60,
      urlHost: urlHost.trim() || "localhost",
      ...(forgeKind
        ? { forge: { kind: forgeKind, apiUrl: apiUrl.trim(), repo: repo.trim(), ...(token ? { token } : {}) } }
        : {}),
    });
  };
  const templates = props.environments.filter((e) => !/^pr-\d+$/.test(e.name));
  return (
    <Dialog title="Preview settings" onClose={props.onClose}>
      <form onSubmit={submit} aria-label="Preview settings">
        {props.sources !== undefined && props.sources.length === 0 && (
          <p className="muted">The stack has no git source yet: add one (an environment's auto-sync) first.</p>
        )}
        <Field label="Git source (its webhook carries the pull requests)">
          <select value={sourceId} onChange={(e) => setSourceId(e.target.value)} required>
            {(props.sources ?? []).map((s) => (
              <option key={s.id} value={s.id}>
                {s.repoUrl} ({s.path})
              </option>
            ))}
          </select>
        </Field>
        <Field label="Template environment" hint="Cluster, overlay and the secrets below are copied from it">
          <select value={templateId} onChange={(e) => setTemplateId(e.target.value)} required>
            {templates.map((e) => (
              <option key={e.id} value={e.id}>
                {e.name}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Secrets copied" hint="Names, comma-separated">
          <input value={secrets} onChange={(e) => setSecrets(e.target.value)} />
        </Field>
        <Field label="CPU limit per service" hint="e.g. 0.5; empty: none">
          <input value={cpus} onChange={(e) => setCpus(e.target.value)} />
        </Field>
        <Field label="Memory limit per service" hint="e.g. 256m; empty: none">
          <input value={memory} onChange={(e) => setMemory(e.target.value)} />
        </Field>
        <Field label="Idle TTL (minutes)" hint="A preview with no pull-request activity for this long is destroyed">
          <input type="number" min={1} value={ttlMinutes} onChange={(e) => setTtlMinutes(e.target.value)} required />
        </Field>
        <Field label="URL host" hint="Preview URL: http://<host>:<published port>">
          <input value={urlHost} onChange={(e) => setUrlHost(e.target.value)} />
        </Field>
        <Field label="Post status back to">
          <select value={forgeKind} onChange={(e) => setForgeKind(e.target.value as typeof forgeKind)}>
            <option value="">nowhere</option>
            <option value="github">GitHub</option>
            <option value="gitlab">GitLab</option>
            <option value="gitea">Gitea</option>
          </select>
        </Field>
        {forgeKind && (
          <>
            <Field label="Forge API URL" hint="e.g. https://api.github.com">
              <input value={apiUrl} onChange={(e) => setApiUrl(e.target.value)} required />
            </Field>
            <Field label="Repository" hint="owner/name, or the GitLab project id">
              <input value={repo} onChange={(e) => setRepo(e.target.value)} required />
            </Field>
            <Field
              label="Token"
              hint={c?.forge?.tokenSet ? "Stored; leave empty to keep it" : "Write-only: never shown again"}
            >
              <input type="password" autoComplete="off" value={token} onChange={(e) => setToken(e.target.value)} />
            </Field>
          </>
        )}
        <label className="checkbox">
          <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} /> Enabled
        </label>
        {props.error ? <ErrorNotice error={props.error} compact /> : null}
        <div className="dialog-actions">
          <button type="button" className="secondary" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" disabled={props.busy}>
            Save
          </button>
        </div>
      </form>
    </Dialog>
  );
}
