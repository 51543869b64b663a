/**
 * One CLI run's connection to the API: the typed client the web UI uses (web/src/api/client.ts), authenticated
 * with an API token or the saved refresh token of a password login, plus the name → id lookups every command
 * shares (`shop/prod` for an environment, a release's version number).
 */
import { ApiClient, ApiError, NETWORK_ERROR, type SessionStore } from "../../web/src/api/client.js";
import { keys } from "../../web/src/api/keys.js";
import type { Cluster, Environment, ListOf, Me, ReleaseSummary, Stack } from "../../web/src/api/types.js";
import { readConfig, writeConfig, type CliConfig } from "./config-file.js";
import { CliError, EXIT, UsageError } from "./exit-codes.js";
import type { OutputFormat, Terminal } from "./output.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (value: string): boolean => UUID.test(value);

export const DEFAULT_URL = "http://127.0.0.1:8080";

export interface SessionOptions {
  configPath: string;
  env: NodeJS.ProcessEnv;
  url: string | undefined;
  org: string | undefined;
  format: OutputFormat;
  term: Terminal;
}

/** The refresh token lives in the config file; the client rotates it and this writes each new one back. */
function fileSessionStore(path: string, config: CliConfig): SessionStore {
  return {
    load: () => config.refreshToken ?? null,
    save: (refreshToken) => {
      if (refreshToken === null) delete config.refreshToken;
      else config.refreshToken = refreshToken;
      writeConfig(path, config);
    },
  };
}

export class Session {
  readonly config: CliConfig;
  readonly url: string;
  readonly client: ApiClient;
  readonly format: OutputFormat;
  readonly term: Terminal;
  private me: Promise<Me> | undefined;

  constructor(readonly options: SessionOptions) {
    this.config = readConfig(options.configPath);
    this.url = (options.url ?? options.env.STACKYARD_URL ?? this.config.url ?? DEFAULT_URL).replace(/\/+$/, "");
    const token = options.env.STACKYARD_TOKEN || this.config.token;
    this.format = options.format;
    this.term = options.term;
    this.client = new ApiClient({
      baseUrl: this.url,
      store: token ? { load: () => null, save: () => undefined } : fileSessionStore(options.configPath, this.config),
      ...(token ? { apiToken: token } : {}),
    });
  }

  saveConfig(update: CliConfig): void {
    Object.assign(this.config, update);
    for (const k of Object.keys(this.config) as Array<keyof CliConfig>)
      if (this.config[k] === undefined) delete this.config[k];
    writeConfig(this.options.configPath, this.config);
  }

  whoami(): Promise<Me> {
    this.me ??= this.client.get<Me>(keys.me()[0]);
    return this.me;
  }

  /** The org the caller acts in: `--org`/STACKYARD_ORG (an id), else the credential's own org. */
  async orgId(): Promise<string> {
    const chosen = this.options.org ?? this.options.env.STACKYARD_ORG;
    const me = await this.whoami();
    if (chosen && chosen !== me.org.id && chosen !== me.org.name) {
      throw new UsageError(
        `this credential belongs to org "${me.org.name}" (${me.org.id}), not "${chosen}": log in to that org (stackyard login --org ${chosen})`,
      );
    }
    return me.org.id;
  }

  async cluster(ref: string): Promise<Cluster> {
    const orgId = await this.orgId();
    if (isUuid(ref)) return this.client.get<Cluster>(keys.cluster(orgId, ref)[0]);
    const list = await this.client.get<ListOf<Cluster>>(keys.clusters(orgId)[0]);
    return one(
      "cluster",
      ref,
      list.items.filter((c) => c.name === ref),
    );
  }

  async stack(ref: string): Promise<Stack> {
    const orgId = await this.orgId();
    if (isUuid(ref)) return this.client.get<Stack>(keys.stack(orgId, ref)[0]);
    const list = await this.client.get<ListOf<Stack>>(keys.stacks(orgId)[0]);
    return one(
      "stack",
      ref,
      list.items.filter((s) => s.name === ref),
    );
  }

  /** An environment by id, or as `<stack>/<environment>` (names or ids). */
  async environment(ref: string): Promise<Environment> {
    if (isUuid(ref)) return this.client.get<Environment>(keys.environment(ref)[0]);
    const [stackRef, envName, ...rest] = ref.split("/");
    if (!stackRef || !envName || rest.length > 0) {
      throw new UsageError(`an environment is <stack>/<environment> (e.g. shop/prod) or its id (got "${ref}")`);
    }
    const stack = await this.stack(stackRef);
    const list = await this.client.get<ListOf<Environment>>(keys.environments(stack.id)[0]);
    return one(
      "environment",
      ref,
      list.items.filter((e) => e.name === envName || e.id === envName),
    );
  }

  /** A release of a stack by version number (`3`, `v3`) or id. */
  async release(stackId: string, ref: string): Promise<ReleaseSummary> {
    if (isUuid(ref)) return this.client.get<ReleaseSummary>(keys.release(ref)[0]);
    const version = Number(ref.replace(/^v/, ""));
    if (!Number.isInteger(version) || version < 1) {
      throw new UsageError(`a release is its version number (e.g. 3) or its id (got "${ref}")`);
    }
    let beforeVersion: number | undefined;
    for (;;) {
      const page = await this.client.get<ListOf<ReleaseSummary>>(`/v1/stacks/${encodeURIComponent(stackId)}/releases`, {
        limit: 200,
        beforeVersion,
      });
      const hit = page.items.find((r) => r.version === version);
      if (hit) return hit;
      const last = page.items.at(-1);
      if (!last || last.version <= version || page.items.length < 200) break;
      beforeVersion = last.version;
    }
    throw new CliError(EXIT.API_REFUSED, `release ${version} not found in this stack`);
  }
}

function one<T>(kind: string, ref: string, matches: T[]): T {
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) throw new CliError(EXIT.API_REFUSED, `${kind} "${ref}" not found`);
  throw new UsageError(`${matches.length} ${kind}s are named "${ref}": use the id`);
}

/** The exit code and one-line message of an API error. */
export function describeApiError(err: ApiError): CliError {
  if (err.code === NETWORK_ERROR) return new CliError(EXIT.API_UNAVAILABLE, `cannot reach the API: ${err.message}`);
  if (err.status === 401) {
    return new CliError(EXIT.NOT_AUTHENTICATED, `${err.message} (${err.code}): run stackyard login`);
  }
  const details = err.details && typeof err.details === "object" ? ` ${JSON.stringify(err.details)}` : "";
  const code = err.status >= 500 ? EXIT.API_UNAVAILABLE : EXIT.API_REFUSED;
  const request = err.requestId ? `; request ${err.requestId}` : "";
  return new CliError(code, `${err.message} (${err.status} ${err.code}${request})${details}`);
}
