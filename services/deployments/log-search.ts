/**
 * Log search across an environment's services (GET /v1/environments/{envId}/logs): the query checked here, the
 * reading, text filter and merge done by the agent's SearchLogs (agent/src/deploy/log-search.ts).
 */
import { AgentRejectedError, sendAgentCommand } from "../_shared/agent-commands.js";
import { BadRequestError, NotFoundError } from "../_shared/errors.js";
import type { TenantScope } from "../_shared/tenant.js";
import { MAX_SEARCH_SERVICES, type SearchLogLine } from "../../nats/protocol/messages.js";
import { findEnvironment } from "../stacks/index.js";
import { MAX_LOG_RESPONSE_BYTES, deployedServiceNames, type RuntimeDeps } from "./runtime.logic.js";

/** A wider range would have every busy service hit the agent's per-service read cap: narrow it instead. */
export const MAX_SEARCH_RANGE_SECONDS = 7 * 24 * 3600;
const SERVICE_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;

export interface LogSearchQuery {
  since: string;
  until?: string;
  q?: string;
  service?: string | string[];
  limit?: number;
}

export interface LogSearchWindow {
  /** Unix seconds, inclusive. */
  since: number;
  /** Unix seconds, exclusive. */
  until: number;
  text: string | null;
  /** Null: every deployed service. */
  services: string[] | null;
  limit: number;
}

const invalid = (param: string, message: string) =>
  new BadRequestError("VALIDATION_FAILED", `${param}: ${message}`, [{ in: "query", path: `/${param}`, message }]);

function unixSeconds(param: string, value: string): number {
  // The spec's date-time format has been checked; Date.parse still refuses what it cannot place in time.
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) throw invalid(param, "must be an RFC 3339 date-time");
  return Math.floor(ms / 1000);
}

/** The search's window and filters, or a 400 naming the parameter at fault. */
export function parseLogSearchQuery(query: LogSearchQuery, nowMs: number): LogSearchWindow {
  const since = unixSeconds("since", query.since);
  const until = query.until !== undefined ? unixSeconds("until", query.until) : Math.ceil(nowMs / 1000);
  if (since < 0) throw invalid("since", "must not be before 1970");
  if (until <= since) throw invalid("until", "must be after since (by at least a second)");
  if (until - since > MAX_SEARCH_RANGE_SECONDS) throw invalid("until", "the range must be at most 7 days");
  const raw = query.service === undefined ? [] : Array.isArray(query.service) ? query.service : [query.service];
  const names = [
    ...new Set(
      raw
        .flatMap((s) => s.split(","))
        .map((s) => s.trim())
        .filter((s) => s !== ""),
    ),
  ];
  const bad = names.find((n) => !SERVICE_NAME.test(n));
  if (bad !== undefined) throw invalid("service", `"${bad}" is not a service name`);
  if (names.length > MAX_SEARCH_SERVICES) throw invalid("service", `at most ${MAX_SEARCH_SERVICES} services`);
  const text = query.q?.trim() ?? "";
  return {
    since,
    until,
    text: text === "" ? null : text,
    services: names.length > 0 ? names : null,
    limit: query.limit ?? 1000,
  };
}

export interface LogSearchResult {
  services: string[];
  lines: SearchLogLine[];
  truncated: boolean;
}

export async function searchEnvironmentLogs(
  deps: RuntimeDeps,
  scope: TenantScope,
  input: { environmentId: string; query: LogSearchQuery; nowMs: number },
): Promise<LogSearchResult> {
  // The environment first: another org's (or no) environment is 404 whatever the range, as on every route.
  const env = await findEnvironment(scope, input.environmentId);
  const window = parseLogSearchQuery(input.query, input.nowMs);
  const deployed = await deployedServiceNames(scope, env.id, env.swarm_stack);
  if (window.services && deployed) {
    const unknown = window.services.find((s) => !deployed.includes(s));
    if (unknown !== undefined) {
      throw new NotFoundError("SERVICE_NOT_FOUND", `the stack has no service "${unknown}"`, { service: unknown });
    }
  }
  const services = window.services ?? deployed;
  if (!services || services.length === 0) {
    throw new NotFoundError(
      "NOT_DEPLOYED",
      "the environment has no successful deployment to take its services from: name them with service=",
    );
  }
  const result = await sendAgentCommand(
    deps.nc,
    deps.commandSigningSeed,
    { orgId: scope.orgId, clusterId: env.cluster_id },
    "SearchLogs",
    {
      stackName: env.swarm_stack,
      services: services.slice(0, MAX_SEARCH_SERVICES),
      since: window.since,
      until: window.until,
      text: window.text,
      limit: window.limit,
      maxBytes: MAX_LOG_RESPONSE_BYTES,
    },
    { timeoutMs: deps.statusTimeoutMs * 4 },
  ).catch((err: unknown) => {
    if (err instanceof AgentRejectedError && err.agentCode === "SERVICE_NOT_FOUND") {
      throw new NotFoundError("SERVICE_NOT_FOUND", `the stack has no such service: ${err.message}`);
    }
    throw err;
  });
  return { services, lines: result.lines, truncated: result.truncated };
}
