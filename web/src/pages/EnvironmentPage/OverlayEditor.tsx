import { useState, type FormEvent } from "react";
import type { EnvOverlay, Overlay } from "../../api/types.js";
import { ErrorNotice } from "../../components/ErrorNotice.js";
import { formatDateTime } from "../../components/RelativeTime.js";
import { formatOverlayText, parseOverlayText } from "./overlay-text.js";
import { Field } from "../../components/Field.js";

/** Edits a loaded overlay; remount it (key) when the saved overlay changes, to start from the server's copy. */
export function OverlayEditor(props: {
  overlay: Overlay;
  canWrite: boolean;
  busy: boolean;
  error: unknown;
  saved: boolean;
  onSave: (overlay: { envJson: EnvOverlay; composePatchYaml: string }) => void;
}) {
  const [variables, setVariables] = useState(() => formatOverlayText(props.overlay.envJson));
  const [patch, setPatch] = useState(props.overlay.composePatchYaml);
  const [parseError, setParseError] = useState<string | null>(null);
  const dirty = variables !== formatOverlayText(props.overlay.envJson) || patch !== props.overlay.composePatchYaml;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    try {
      const envJson = parseOverlayText(variables);
      setParseError(null);
      props.onSave({ envJson, composePatchYaml: patch });
    } catch (err) {
      setParseError(err instanceof Error ? err.message : String(err));
    }
  };
  return (
    <form onSubmit={submit} aria-label="Overlay">
      <div className="two-columns">
        <Field
          label="Variables"
          hint={<>KEY=value for every service; lines under [service] for one service (they win).</>}
        >
          <textarea
            name="variables"
            className="code"
            rows={12}
            spellCheck={false}
            readOnly={!props.canWrite}
            placeholder={"# every service\nLOG_LEVEL=info\n\n[web]\nPORT=8080"}
            value={variables}
            onChange={(e) => setVariables(e.target.value)}
          />
        </Field>
        <Field
          label="Compose patch (YAML)"
          hint={<>Merged over each release with compose override rules (!reset, !override).</>}
        >
          <textarea
            name="composePatchYaml"
            className="code"
            rows={12}
            spellCheck={false}
            readOnly={!props.canWrite}
            placeholder={"services:\n  web:\n    deploy:\n      replicas: 3"}
            value={patch}
            onChange={(e) => setPatch(e.target.value)}
          />
        </Field>
      </div>
      {parseError && <div className="notice notice-error compact">{parseError}</div>}
      {props.error ? <ErrorNotice error={props.error} compact /> : null}
      <div className="actions">
        <span className="muted small">
          {props.saved && !dirty ? "Saved. " : ""}Last changed {formatDateTime(props.overlay.updatedAt)}
        </span>
        {props.canWrite ? (
          <button type="submit" disabled={props.busy || !dirty}>
            {props.busy ? "Saving…" : "Save overlay"}
          </button>
        ) : (
          <span className="muted small">Editing needs the stacks:write permission.</span>
        )}
      </div>
    </form>
  );
}
