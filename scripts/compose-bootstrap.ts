/**
 * The one-shot `bootstrap` container of docker-compose.dev.yml. Every step is idempotent, so it runs on each
 * `docker compose up`:
 *   1. secrets: the access-token signing key, the master key of environment secrets and the system bootstrap
 *      credential are generated once into the state volume (never regenerated: losing the master key makes
 *      every stored secret unreadable);
 *   2. NATS: `scripts/nats.ts prepare` renders the server config (operator, accounts, credentials) there;
 *   3. the control-plane configuration is validated exactly as the services will validate it;
 *   4. migrations;
 *   5. a first org and its ORG_ADMIN, whose password is printed to the log once;
 *   6. a cluster `local` for the Swarm-in-Docker manager, and a one-time registration token for its agent in the
 *      agent hand-off volume — only while no agent holds a live credential for it (or with --new-agent-token).
 * The agent container reads only the hand-off volume, never the state volume with the NATS signing keys.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { loadConfig, type Config } from "../services/_shared/config.js";
import { createDb, migrateLatest, type Db } from "../services/_shared/db.js";
import type { Principal, RequestInfo } from "../services/_shared/principal.js";
import { ROLE_PERMISSIONS } from "../services/_shared/permissions.js";
import { TenantScope } from "../services/_shared/tenant.js";
import { createOrg } from "../services/auth/orgs.logic.js";
import {
  createCluster,
  issueNewRegistrationToken,
  type ClustersSettings,
} from "../services/clusters/clusters.logic.js";

const ROOT = resolve(import.meta.dirname, "..");

/** Where each generated secret lives, relative to the state directory; the compose file's `*_FILE` paths. */
export const SECRET_FILES = {
  authJwtKeys: "secrets/auth-jwt-keys",
  masterKey: "secrets/controlplane-master-key",
  bootstrapToken: "secrets/bootstrap-token",
} as const;

/** The agent hand-off directory: the cluster the agent must belong to, and a token when it must register. */
export const HANDOFF_FILES = { clusterId: "cluster-id", registrationToken: "registration-token" } as const;

export const FIRST_ORG_NAME = "default";
export const FIRST_ADMIN_EMAIL = "admin@stackyard.local";
export const LOCAL_CLUSTER_NAME = "local";
const JWT_KEY_ID = "k1";
const MASTER_KEY_ID = "k1";
const REQUEST: RequestInfo = { ip: null, userAgent: "compose-bootstrap" };

export type BootstrapErrorCode =
  "BOOTSTRAP_ENV_MISSING" | "BOOTSTRAP_NATS_PREPARE_FAILED" | "BOOTSTRAP_NO_ORG_ADMIN" | "BOOTSTRAP_CLUSTER_REVOKED";

export class BootstrapError extends Error {
  override name = "BootstrapError";
  constructor(
    readonly code: BootstrapErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface Secrets {
  authJwtKeys: string;
  masterKey: string;
  bootstrapToken: string;
}

async function writeAtomically(path: string, content: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, content, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}

async function readOrCreate(path: string, make: () => string, created: string[]): Promise<string> {
  try {
    const existing = (await readFile(path, "utf8")).trim();
    if (existing) return existing;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const value = make();
  await writeAtomically(path, `${value}\n`);
  created.push(path);
  return value;
}

/** Generates each missing secret (mode 0600 in a 0700 directory) and returns all of them. */
export async function ensureSecrets(stateDir: string): Promise<{ secrets: Secrets; created: string[] }> {
  await mkdir(join(stateDir, "secrets"), { recursive: true, mode: 0o700 });
  await chmod(join(stateDir, "secrets"), 0o700);
  const created: string[] = [];
  const secrets: Secrets = {
    authJwtKeys: await readOrCreate(
      join(stateDir, SECRET_FILES.authJwtKeys),
      () => `${JWT_KEY_ID}:${randomBytes(48).toString("base64")}`,
      created,
    ),
    masterKey: await readOrCreate(
      join(stateDir, SECRET_FILES.masterKey),
      () => `${MASTER_KEY_ID}:${randomBytes(32).toString("base64")}`,
      created,
    ),
    bootstrapToken: await readOrCreate(
      join(stateDir, SECRET_FILES.bootstrapToken),
      () => `syb_${randomBytes(32).toString("base64url")}`,
      created,
    ),
  };
  return { secrets, created };
}

/** The control plane's configuration as the services will see it: the container env plus the secrets. */
export function controlPlaneConfig(env: Record<string, string | undefined>, secrets: Secrets): Config {
  return loadConfig({
    ...env,
    AUTH_JWT_KEYS: secrets.authJwtKeys,
    CONTROLPLANE_MASTER_KEY: secrets.masterKey,
    STACKYARD_BOOTSTRAP_TOKEN: secrets.bootstrapToken,
  });
}

export const clustersSettings = (config: Config): ClustersSettings => ({
  publicUrl: config.clusters.publicUrl,
  agentImage: config.clusters.agentImage,
  agentNatsUrls: config.nats.agentUrls,
  registrationTokenTtlSeconds: config.clusters.registrationTokenTtlSeconds,
  agentCredentialTtlSeconds: config.clusters.agentCredentialTtlSeconds,
  offlineAfterSeconds: config.clusters.offlineAfterSeconds,
});

export interface FirstOrg {
  orgId: string;
  admin: Principal;
  /** Set only when this run created the org: the generated password, shown once. */
  password: string | null;
}

/** The oldest org and its oldest ORG_ADMIN; created (with a generated password) when there is no org. */
export async function ensureFirstOrg(db: Db): Promise<FirstOrg> {
  let password: string | null = null;
  let org = await db("orgs").orderBy("created_at").first<{ id: string } | undefined>("id");
  if (!org) {
    password = randomBytes(18).toString("base64url");
    const created = await createOrg(
      db,
      { name: FIRST_ORG_NAME, admin: { email: FIRST_ADMIN_EMAIL, password } },
      { bootstrapToken: false },
      REQUEST,
    );
    org = { id: created.org.id };
  }
  const admin = await new TenantScope(db, org.id)
    .from("users")
    .where({ role: "ORG_ADMIN" })
    .orderBy("created_at")
    .first<{ id: string; email: string } | undefined>("id", "email");
  if (!admin) throw new BootstrapError("BOOTSTRAP_NO_ORG_ADMIN", `org ${org.id} has no ORG_ADMIN to act for`);
  return {
    orgId: org.id,
    // The bootstrap acts for the org's first admin, so the audit log names a real, accountable user.
    admin: {
      orgId: org.id,
      userId: admin.id,
      email: admin.email,
      role: "ORG_ADMIN",
      actorType: "user",
      actorId: admin.id,
      sessionId: null,
      tokenId: null,
      permissions: [...ROLE_PERMISSIONS.ORG_ADMIN],
    },
    password,
  };
}

export interface LocalCluster {
  clusterId: string;
  /** Null when an agent already holds a live credential for the cluster (and no new token was asked for). */
  registrationToken: string | null;
}

/** The `local` cluster of the first org, with a fresh registration token while it has no live agent. */
export async function ensureLocalCluster(
  db: Db,
  org: FirstOrg,
  settings: ClustersSettings,
  opts: { newToken: boolean },
): Promise<LocalCluster> {
  const scope = new TenantScope(db, org.orgId);
  const existing = await scope
    .from("clusters")
    .where({ name: LOCAL_CLUSTER_NAME })
    .first<{ id: string; status: string } | undefined>("id", "status");
  if (!existing) {
    const created = await createCluster(scope, org.admin, { name: LOCAL_CLUSTER_NAME }, settings, REQUEST);
    return { clusterId: created.cluster.id, registrationToken: created.registrationToken };
  }
  if (existing.status === "revoked") {
    throw new BootstrapError(
      "BOOTSTRAP_CLUSTER_REVOKED",
      `cluster "${LOCAL_CLUSTER_NAME}" (${existing.id}) is revoked; delete it, or reset the compose volumes`,
    );
  }
  const live = await scope
    .from("agent_credentials")
    .where({ cluster_id: existing.id })
    .whereNull("revoked_at")
    .where("expires_at", ">", new Date())
    .first("id");
  if (live && !opts.newToken) return { clusterId: existing.id, registrationToken: null };
  const issued = await issueNewRegistrationToken(scope, org.admin, existing.id, settings, REQUEST);
  return { clusterId: existing.id, registrationToken: issued.registrationToken };
}

/** Writes what the agent container needs; a stale token file is removed when there is no token to hand off. */
export async function writeAgentHandoff(dir: string, cluster: LocalCluster): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeAtomically(join(dir, HANDOFF_FILES.clusterId), `${cluster.clusterId}\n`);
  const tokenFile = join(dir, HANDOFF_FILES.registrationToken);
  if (cluster.registrationToken === null) await rm(tokenFile, { force: true });
  else await writeAtomically(tokenFile, `${cluster.registrationToken}\n`);
}

/** Renders the NATS server config with the same script `make dev` uses, so both share one set of defaults. */
export async function prepareNats(env: Record<string, string | undefined>): Promise<void> {
  try {
    await promisify(execFile)(process.execPath, ["--import", "tsx", join(ROOT, "scripts/nats.ts"), "prepare"], {
      cwd: ROOT,
      env: env as NodeJS.ProcessEnv,
    });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new BootstrapError("BOOTSTRAP_NATS_PREPARE_FAILED", `scripts/nats.ts prepare failed: ${stderr ?? ""}`, {
      cause: err,
    });
  }
}

export interface BootstrapOptions {
  env: Record<string, string | undefined>;
  stateDir: string;
  handoffDir: string;
  /** Shown in the first-run message: where the UI is reached from the host. */
  uiUrl: string;
  newAgentToken: boolean;
  log: (line: string) => void;
}

export interface BootstrapResult {
  secretsCreated: string[];
  migrationsApplied: string[];
  firstOrg: FirstOrg;
  cluster: LocalCluster;
}

export async function runBootstrap(opts: BootstrapOptions): Promise<BootstrapResult> {
  const { secrets, created } = await ensureSecrets(opts.stateDir);
  for (const file of created) opts.log(`generated ${file}`);
  await prepareNats({ ...opts.env, STACKYARD_STATE_DIR: opts.stateDir });
  opts.log("NATS server config rendered");
  const config = controlPlaneConfig(opts.env, secrets);
  const db = createDb(config.database.url, 2);
  try {
    const migrationsApplied = await migrateLatest(db);
    opts.log(`applied ${migrationsApplied.length} migration(s)`);
    const firstOrg = await ensureFirstOrg(db);
    if (firstOrg.password !== null) {
      opts.log(
        [
          "",
          `  First run: created org '${FIRST_ORG_NAME}' and its ORG_ADMIN. This password is shown only once:`,
          `    email:    ${FIRST_ADMIN_EMAIL}`,
          `    password: ${firstOrg.password}`,
          `    log in:   ${opts.uiUrl}`,
          `  The system bootstrap credential (creates further orgs) is in the state volume: ${SECRET_FILES.bootstrapToken}`,
          "",
        ].join("\n"),
      );
    }
    const cluster = await ensureLocalCluster(db, firstOrg, clustersSettings(config), {
      newToken: opts.newAgentToken,
    });
    await writeAgentHandoff(opts.handoffDir, cluster);
    opts.log(
      cluster.registrationToken === null
        ? `cluster '${LOCAL_CLUSTER_NAME}' (${cluster.clusterId}) already has a registered agent`
        : `cluster '${LOCAL_CLUSTER_NAME}' (${cluster.clusterId}): registration token handed to the agent container`,
    );
    return { secretsCreated: created, migrationsApplied, firstOrg, cluster };
  } finally {
    await db.destroy();
  }
}

function requiredEnv(env: Record<string, string | undefined>, name: string): string {
  const value = env[name]?.trim();
  if (!value) throw new BootstrapError("BOOTSTRAP_ENV_MISSING", `${name} is missing`);
  return value;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => a !== "--new-agent-token");
  if (unknown.length > 0) {
    console.error(`usage: compose-bootstrap.ts [--new-agent-token] (unknown: ${unknown.join(" ")})`);
    process.exit(2);
  }
  try {
    await runBootstrap({
      env: process.env,
      stateDir: requiredEnv(process.env, "STACKYARD_STATE_DIR"),
      handoffDir: requiredEnv(process.env, "STACKYARD_AGENT_HANDOFF_DIR"),
      uiUrl: process.env.STACKYARD_UI_URL?.trim() || "http://127.0.0.1:8080",
      newAgentToken: args.includes("--new-agent-token"),
      log: (line) => console.error(line.startsWith("\n") ? line : `[stackyard] ${line}`),
    });
  } catch (err) {
    console.error(`[stackyard] bootstrap failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}
