import { ApiError, NETWORK_ERROR } from "../api/client.js";
import { permissionLabel } from "../api/types.js";
import { PolicyViolations, violationsOf } from "./PolicyViolations.js";

/** Says what went wrong in words a user can act on; the API's code is matched, never its message text. */
export function describeError(error: unknown): { title: string; detail: string | null } {
  if (!(error instanceof ApiError)) {
    return { title: "Something went wrong", detail: error instanceof Error ? error.message : String(error) };
  }
  if (error.code === "PERMISSION_DENIED") {
    const missing = error.missingPermission;
    return {
      title: "You do not have permission to do this",
      detail: missing
        ? `It needs the permission “${missing}” (${permissionLabel(missing)}), which your role does not include. Ask an org admin to change your role.`
        : error.message,
    };
  }
  if (error.code === NETWORK_ERROR) return { title: "The API cannot be reached", detail: error.message };
  if (error.status === 404) return { title: "Not found", detail: error.message };
  if (error.code === "COMPOSE_POLICY_VIOLATION") {
    return { title: "The compose file breaks the compose policy", detail: null };
  }
  if (error.status === 422 || error.status === 400) return { title: "Check the form", detail: validationText(error) };
  if (error.code === "ENVIRONMENT_BUSY") {
    return { title: "A deployment of this environment is running or queued", detail: error.message };
  }
  if (error.code === "AGENT_UNREACHABLE") return { title: "The cluster's agent did not answer", detail: error.message };
  if (error.code === "REQUEST_TIMEOUT")
    return { title: "The control plane did not answer in time", detail: error.message };
  if (error.status >= 500) return { title: "The server failed to answer", detail: `${error.message} (${error.code})` };
  return { title: error.message, detail: null };
}

function validationText(error: ApiError): string {
  const d = error.details;
  if (Array.isArray(d)) {
    const lines = d
      .map((item: unknown) =>
        item && typeof item === "object" && "message" in item && typeof item.message === "string"
          ? ("field" in item && typeof item.field === "string" ? `${item.field}: ` : "") + item.message
          : null,
      )
      .filter((s): s is string => s !== null);
    if (lines.length) return lines.join("; ");
  }
  return error.message;
}

export function ErrorNotice(props: { error: unknown; onRetry?: () => void; compact?: boolean }) {
  const { title, detail } = describeError(props.error);
  const code = props.error instanceof ApiError ? props.error.code : null;
  const requestId = props.error instanceof ApiError ? props.error.requestId : undefined;
  const violations = props.error instanceof ApiError ? violationsOf(props.error.details) : null;
  return (
    <div className={props.compact ? "notice notice-error compact" : "notice notice-error"} role="alert">
      <strong>{title}</strong>
      {detail && <p>{detail}</p>}
      {violations && <PolicyViolations violations={violations} />}
      {code && (
        <p className="muted small">
          Code: {code}
          {requestId && <> · request {requestId}</>}
        </p>
      )}
      {props.onRetry && (
        <button type="button" onClick={props.onRetry}>
          Retry
        </button>
      )}
    </div>
  );
}
