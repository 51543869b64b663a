import { useEffect, useRef, useState, type ChangeEvent, type FormEvent } from "react";
import type { CreateEnvironmentInput, GitReleaseInput } from "../../api/hooks/stacks.js";
import type { Cluster, GitCredential } from "../../api/types.js";
import { Dialog } from "../../components/Dialog.js";
import { composeMarks, lineOffsets, type ComposeMark } from "../../components/compose-locate.js";
import { ErrorNotice } from "../../components/ErrorNotice.js";

/** Matches HTTP_BODY_LIMIT_BYTES' default; a bigger file would only come back as 413. */
const MAX_COMPOSE_BYTES = 1024 * 1024;

export function UploadReleaseDialog(props: {
  busy: boolean;
  error: unknown;
  onSubmit: (input: { composeYaml: string; sourceRef?: string; manifestYaml?: string }) => void;
  onClose: () => void;
}) {
  const [composeYaml, setComposeYaml] = useState("");
  const [manifestYaml, setManifestYaml] = useState("");
  const [sourceRef, setSourceRef] = useState("");
  const [fileError, setFileError] = useState<string | null>(null);
  /** The text the current error is about: marks are shown only while the editor still holds it. */
  const [submitted, setSubmitted] = useState<string | null>(null);
  const editor = useRef<HTMLTextAreaElement>(null);
  const marks: ComposeMark[] = props.error && submitted === composeYaml ? composeMarks(composeYaml, props.error) : [];
  const firstLine = marks[0]?.line;
  useEffect(() => {
    // Put the cursor on the first problem's line, selected, so the user sees it in the editor.
    const range = firstLine === undefined ? null : lineOffsets(composeYaml, firstLine);
    if (!range || !editor.current) return;
    editor.current.focus();
    editor.current.setSelectionRange(range[0], range[1]);
    // Only when a new error arrives: editing the text afterwards must not move the cursor.
  }, [props.error, firstLine]);
  const onFile = (e: ChangeEvent<HTMLInputElement>) => {
    const file = e.target.files?.[0];
    setFileError(null);
    if (!file) return;
    if (file.size > MAX_COMPOSE_BYTES) {
      setFileError(`${file.name} is larger than 1 MiB.`);
      return;
    }
    void file.text().then((text) => {
      setComposeYaml(text);
      if (!sourceRef) setSourceRef(file.name);
    });
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setSubmitted(composeYaml);
    props.onSubmit({
      composeYaml,
      ...(sourceRef.trim() ? { sourceRef: sourceRef.trim() } : {}),
      ...(manifestYaml.trim() ? { manifestYaml } : {}),
    });
  };
  return (
    <Dialog title="Upload release" onClose={props.onClose}>
      <form onSubmit={submit}>
        <p className="muted small">
          The compose file is validated and frozen as the next version. Releases never change; upload again to make a
          new one.
        </p>
        <label>
          Compose file
          <input type="file" accept=".yml,.yaml,text/yaml,application/yaml" onChange={onFile} />
        </label>
        {fileError && <div className="notice notice-error compact">{fileError}</div>}
        <label>
          …or paste it
          <textarea
            ref={editor}
            name="composeYaml"
            className="code"
            aria-invalid={marks.length > 0 || undefined}
            rows={14}
            required
            spellCheck={false}
            placeholder={"services:\n  web:\n    image: nginx:1.27"}
            value={composeYaml}
            onChange={(e) => setComposeYaml(e.target.value)}
          />
        </label>
        {marks.length > 0 && <ComposeMarks text={composeYaml} marks={marks} />}
        <details>
          <summary>Manifest (stackyard.yaml, optional): deploy timeout and pre/post-deploy hooks</summary>
          <label>
            Manifest
            <textarea
              name="manifestYaml"
              className="code"
              rows={8}
              spellCheck={false}
              placeholder={"hooks:\n  pre_deploy:\n    service: web\n    command: [npm, run, migrate]"}
              value={manifestYaml}
              onChange={(e) => setManifestYaml(e.target.value)}
            />
          </label>
        </details>
        <label>
          Source note
          <input
            name="sourceRef"
            maxLength={500}
            placeholder="e.g. CI build #123"
            value={sourceRef}
            onChange={(e) => setSourceRef(e.target.value)}
          />
        </label>
        {props.error ? <ErrorNotice error={props.error} compact /> : null}
        <div className="actions">
          <button type="button" className="secondary" onClick={props.onClose}>
            Cancel
          </button>
          <button
            type="submit"
            disabled={props.busy || !composeYaml.trim()}
            title={!composeYaml.trim() ? "Choose a compose file or paste one first" : undefined}
          >
            {props.busy ? "Uploading…" : "Create release"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** The lines of the compose text the API complained about, each with a caret under its column when known. */
function ComposeMarks(props: { text: string; marks: ComposeMark[] }) {
  const lines = props.text.split("\n");
  return (
    <ol className="compose-marks" aria-label="Problems in the compose file">
      {props.marks.map((m) => (
        <li key={`${m.line}:${m.column ?? 0}:${m.message}`}>
          <div className="small">
            Line {m.line}
            {m.column !== null && <>, column {m.column}</>}: {m.message}
          </div>
          <pre className="code compose-mark-line">
            <span className="muted">{String(m.line).padStart(4)} │ </span>
            {lines[m.line - 1] ?? ""}
            {m.column !== null && (
              <>
                {"\n"}
                <span className="muted">{" ".repeat(4)} │ </span>
                {" ".repeat(m.column - 1)}
                <span className="compose-caret">^</span>
              </>
            )}
          </pre>
        </li>
      ))}
    </ol>
  );
}

export function CreateEnvironmentDialog(props: {
  /** The stack's name, for the default Swarm stack shown as a placeholder. */
  stackName: string | undefined;
  clusters: Cluster[] | undefined;
  clustersError: unknown;
  busy: boolean;
  error: unknown;
  onSubmit: (input: CreateEnvironmentInput) => void;
  onClose: () => void;
}) {
  const [name, setName] = useState("");
  const [clusterId, setClusterId] = useState("");
  const [timeout, setTimeoutSeconds] = useState("600");
  const [swarmStack, setSwarmStack] = useState("");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    props.onSubmit({
      name: name.trim(),
      clusterId,
      deployTimeoutSeconds: Number(timeout),
      ...(swarmStack.trim() ? { swarmStack: swarmStack.trim() } : {}),
    });
  };
  const clusters = props.clusters?.filter((c) => c.status !== "revoked");
  return (
    <Dialog title="New environment" onClose={props.onClose}>
      <form onSubmit={submit}>
        <label>
          Name
          <input
            name="name"
            required
            pattern="[a-z0-9][a-z0-9\-]{0,62}"
            placeholder="staging"
            value={name}
            onChange={(e) => setName(e.target.value)}
            autoFocus
          />
        </label>
        <label>
          Cluster
          <select name="clusterId" required value={clusterId} onChange={(e) => setClusterId(e.target.value)}>
            <option value="" disabled>
              {clusters === undefined ? "Loading clusters…" : clusters.length ? "Choose a cluster" : "No clusters"}
            </option>
            {clusters?.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name} ({c.status})
              </option>
            ))}
          </select>
        </label>
        {props.clustersError ? <ErrorNotice error={props.clustersError} compact /> : null}
        <label>
          Swarm stack
          <input
            name="swarmStack"
            pattern="[a-z0-9][a-z0-9_\-]{0,62}"
            placeholder={`${props.stackName ?? "stack"}-${name.trim() || "environment"}`}
            value={swarmStack}
            onChange={(e) => setSwarmStack(e.target.value)}
          />
        </label>
        <p className="muted small">
          The <code>docker stack deploy</code> name of this environment, unique on the cluster. Leave empty for the
          default shown.
        </p>
        <label>
          Deploy timeout (seconds)
          <input
            type="number"
            name="deployTimeoutSeconds"
            min={10}
            max={86400}
            required
            value={timeout}
            onChange={(e) => setTimeoutSeconds(e.target.value)}
          />
        </label>
        {props.error ? <ErrorNotice error={props.error} compact /> : null}
        <div className="actions">
          <button type="button" className="secondary" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" disabled={props.busy || !clusterId}>
            {props.busy ? "Creating…" : "Create environment"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** A release from a git ref: the ref is resolved to a commit once and the file at that commit is frozen. */
export function GitReleaseDialog(props: {
  credentials: GitCredential[] | undefined;
  credentialsError: unknown;
  busy: boolean;
  error: unknown;
  onSubmit: (input: GitReleaseInput) => void;
  onClose: () => void;
}) {
  const [repoUrl, setRepoUrl] = useState("");
  const [ref, setRef] = useState("main");
  const [path, setPath] = useState("compose.yml");
  const [credentialId, setCredentialId] = useState("");
  const isSsh = /^ssh:\/\//.test(repoUrl.trim()) || /^[A-Za-z0-9._-]+@[^:/]+:/.test(repoUrl.trim());
  // Only credentials that fit the URL's scheme are offered.
  const fitting = props.credentials?.filter((c) => (isSsh ? c.type === "ssh" : c.type === "https"));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    props.onSubmit({
      repoUrl: repoUrl.trim(),
      ref: ref.trim(),
      path: path.trim(),
      ...(credentialId ? { credentialId } : {}),
    });
  };
  return (
    <Dialog title="Release from git" onClose={props.onClose}>
      <form onSubmit={submit}>
        <p className="muted small">
          The branch, tag or commit is resolved to a commit now and the compose file at that commit is frozen as the
          next version.
        </p>
        <label>
          Repository URL
          <input
            name="repoUrl"
            required
            maxLength={2048}
            placeholder="git@github.com:acme/app.git or https://github.com/acme/app.git"
            value={repoUrl}
            onChange={(e) => {
              setRepoUrl(e.target.value);
              setCredentialId("");
            }}
            autoFocus
          />
        </label>
        <label>
          Branch, tag or commit
          <input name="ref" required maxLength={255} value={ref} onChange={(e) => setRef(e.target.value)} />
        </label>
        <label>
          Compose file path
          <input name="path" required maxLength={1024} value={path} onChange={(e) => setPath(e.target.value)} />
        </label>
        <label>
          Credential
          <select name="credentialId" value={credentialId} onChange={(e) => setCredentialId(e.target.value)}>
            <option value="">{isSsh ? "Choose a deploy key" : "None (public repository)"}</option>
            {fitting?.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name} ({c.type === "ssh" ? "SSH deploy key" : "HTTPS token"})
              </option>
            ))}
          </select>
        </label>
        {isSsh && fitting?.length === 0 && (
          <p className="muted small">SSH repositories need a deploy key: create one under Git credentials.</p>
        )}
        {props.credentialsError ? <ErrorNotice error={props.credentialsError} compact /> : null}
        {props.error ? <ErrorNotice error={props.error} compact /> : null}
        <div className="actions">
          <button type="button" className="secondary" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" disabled={props.busy || !repoUrl.trim() || (isSsh && !credentialId)}>
            {props.busy ? "Fetching…" : "Create release"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
