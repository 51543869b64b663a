import { ApiError, NETWORK_ERROR } from "../api/client.js";
import { permissionLabel } from "../api/types.js";
import { PolicyViolations, violationsOf } from "./PolicyViolations.js";

/** Says what went wrong in words a user can act on; the API's code is matched, never its message text. */
export function describeError(error: unknown): { title: string; detail: string | null; items?: string[] } {
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
  if (error.status === 422 || error.status === 400) {
    const items = validationLines(error);
    const title = error.code.startsWith("COMPOSE_") ? "The compose file is not valid" : "Check the form";
    if (items.length === 0) return { title, detail: error.message };
    if (items.length === 1) return { title, detail: items[0]! };
    return { title, detail: null, items };
  }
  if (error.code === "ENVIRONMENT_BUSY") {
    return { title: "A deployment of this environment is running or queued", detail: error.message };
  }
  if (error.code === "AGENT_UNREACHABLE") return { title: "The cluster's agent did not answer", detail: error.message };
  if (error.code === "REQUEST_TIMEOUT")
    return { title: "The control plane did not answer in time", detail: error.message };
  if (error.status >= 500) return { title: "The server failed to answer", detail: `${error.message} (${error.code})` };
  return { title: error.message, detail: null };
}

const text = (v: unknown): string | null => (typeof v === "string" && v !== "" ? v : null);

/** A JSON pointer (`/git/url`) as the dotted path the compose errors use (`git.url`). */
const dotted = (pointer: string): string =>
  pointer
    .split("/")
    .slice(1)
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))
    .join(".");

/**
 * One line per problem the API listed, each with where it is: a compose error's dotted `path`
 * (`services.web.deploy.replicas: must be integer`), a request field's `in` and JSON pointer `path` plus the
 * offending `property` (`body git.frobnicate: is not allowed here`), or a `field`.
 */
export function validationLines(error: ApiError): string[] {
  const d = error.details;
  if (!Array.isArray(d)) return [];
  const lines: string[] = [];
  for (const item of d as unknown[]) {
    if (!item || typeof item !== "object") continue;
    const o = item as Record<string, unknown>;
    const message = text(o.message);
    if (!message) continue;
    const pointer = text(o.path);
    const isPointer = pointer?.startsWith("/") ?? false;
    const base = isPointer ? dotted(pointer!) : (pointer ?? text(o.field) ?? "");
    const property = text(o.property);
    const where = [base, property].filter(Boolean).join(".");
    const shownMessage = property && /additional properties/i.test(message) ? "is not allowed here" : message;
    const scope = text(o.in);
    const prefix = [scope && scope !== "body" ? scope : null, where || null].filter(Boolean).join(" ");
    lines.push(prefix ? `${prefix}: ${shownMessage}` : shownMessage);
  }
  return lines;
}

/** Where in the YAML text an invalid-YAML error points (1-based), when the API said. */
export function yamlErrorPosition(error: unknown): { line: number; column: number | null } | null {
  if (!(error instanceof ApiError) || error.code !== "COMPOSE_INVALID_YAML") return null;
  const d = error.details;
  if (!d || typeof d !== "object" || Array.isArray(d)) return null;
  const { line, column } = d as { line?: unknown; column?: unknown };
  if (typeof line !== "number" || !Number.isInteger(line) || line < 1) return null;
  return { line, column: typeof column === "number" && Number.isInteger(column) && column >= 1 ? column : null };
}

export function ErrorNotice(props: { error: unknown; onRetry?: () => void; compact?: boolean }) {
  const { title, detail, items } = describeError(props.error);
  const code = props.error instanceof ApiError ? props.error.code : null;
  const requestId = props.error instanceof ApiError ? props.error.requestId : undefined;
  const violations = props.error instanceof ApiError ? violationsOf(props.error.details) : null;
  return (
    <div className={props.compact ? "notice notice-error compact" : "notice notice-error"} role="alert">
      <strong>{title}</strong>
      {detail && <p>{detail}</p>}
      {items && (
        <ul className="error-items">
          {items.map((line) => (
            <li key={line}>{line}</li>
          ))}
        </ul>
      )}
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
