/**
 * The NATS trust chain of a Stackyard installation: operator → system account + application account →
 * the control-plane user. Seeds stay in the state directory (mode 0600); only JWTs go into the server config.
 */
import { mkdir, readFile, writeFile, chmod } from "node:fs/promises";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import {
  createAccount,
  createOperator,
  createUser,
  encodeAccount,
  encodeOperator,
  encodeUser,
  fmtCreds,
  fromSeed,
  decode,
  type Account,
  type Export,
  type KeyPair,
} from "nats-jwt";
import { DEPLOYMENT_EVENTS_ROOT, EXEC_INPUT_ROOT } from "./protocol/subjects.js";
import { INTEGRATION_ROOT } from "./protocol/integration-subjects.js";

export const APP_ACCOUNT_NAME = "STACKYARD";
export const SYSTEM_ACCOUNT_NAME = "SYS";

/** Everything needed to run and extend the trust chain. Seeds are secrets. */
export interface NatsIdentity {
  operatorSeed: string;
  systemAccountSeed: string;
  appAccountSeed: string;
  /** Signs user JWTs (control plane, agents) on behalf of the application account. */
  appSigningSeed: string;
  /** Signs control plane → agent commands (ed25519, an account-type NKey seed "SA…"). */
  commandSigningSeed: string;
  operatorJwt: string;
  systemAccountJwt: string;
  appAccountJwt: string;
  /** Creds file contents of the control plane's own user (full access to the application account). */
  controlPlaneCreds: string;
  /** Creds of a system-account user, used to push account JWT updates (revocations) to the server. */
  systemCreds: string;
}

const text = new TextDecoder();
const seedOf = (kp: KeyPair): string => text.decode(kp.getSeed());

/** Unlimited-but-explicit account limits: account JWTs get no defaults, and zero means "refuse". */
export const APP_ACCOUNT_LIMITS = {
  conn: -1,
  leaf: -1,
  subs: -1,
  data: -1,
  payload: -1,
  imports: -1,
  exports: -1,
  wildcards: true,
  disallow_bearer: true,
  mem_storage: -1,
  disk_storage: -1,
  streams: -1,
  consumer: -1,
} as const;

/**
 * What the control plane's account exports to the org accounts (nats/org-accounts.ts), each only with an
 * activation token naming the importing account and the subject it may import.
 */
export const CONTROL_PLANE_EXPORTS: Export[] = [
  { name: "agent messages", subject: "agent.>", type: "service", token_req: true, response_type: "Singleton" },
  {
    name: "deployment events",
    subject: `${DEPLOYMENT_EVENTS_ROOT}.>`,
    type: "service",
    token_req: true,
    response_type: "Singleton",
  },
  { name: "agent commands", subject: "cmd.>", type: "stream", token_req: true },
  { name: "exec input", subject: `${EXEC_INPUT_ROOT}.>`, type: "stream", token_req: true },
  { name: "integration events", subject: `${INTEGRATION_ROOT}.>`, type: "stream", token_req: true },
];

export async function encodeAppAccount(
  identity: Pick<NatsIdentity, "operatorSeed" | "appAccountSeed" | "appSigningSeed">,
  extra: Partial<Account> = {},
): Promise<string> {
  const operator = fromSeed(new TextEncoder().encode(identity.operatorSeed));
  const account = fromSeed(new TextEncoder().encode(identity.appAccountSeed));
  const signing = fromSeed(new TextEncoder().encode(identity.appSigningSeed));
  return encodeAccount(
    APP_ACCOUNT_NAME,
    account,
    {
      limits: { ...APP_ACCOUNT_LIMITS },
      signing_keys: [signing.getPublicKey()],
      exports: CONTROL_PLANE_EXPORTS,
      ...extra,
    },
    { signer: operator },
  );
}

export async function createNatsIdentity(): Promise<NatsIdentity> {
  const operator = createOperator();
  const system = createAccount();
  const app = createAccount();
  const appSigning = createAccount();

  const operatorJwt = await encodeOperator("stackyard", operator, {
    system_account: system.getPublicKey(),
  });
  const systemAccountJwt = await encodeAccount(
    SYSTEM_ACCOUNT_NAME,
    system,
    { limits: { conn: -1, subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, leaf: -1 } },
    { signer: operator },
  );
  const base = { operatorSeed: seedOf(operator), appAccountSeed: seedOf(app), appSigningSeed: seedOf(appSigning) };
  const appAccountJwt = await encodeAppAccount(base);

  const cpUser = createUser();
  const cpJwt = await encodeUser("controlplane", cpUser, app, { bearer_token: false }, { signer: appSigning });
  const sysUser = createUser();
  const sysJwt = await encodeUser("sys", sysUser, system);

  return {
    ...base,
    commandSigningSeed: seedOf(createAccount()),
    systemAccountSeed: seedOf(system),
    operatorJwt,
    systemAccountJwt,
    appAccountJwt,
    controlPlaneCreds: text.decode(fmtCreds(cpJwt, cpUser)),
    systemCreds: text.decode(fmtCreds(sysJwt, sysUser)),
  };
}

/** Memoized: deriving the key is a pure-JS curve multiplication (~tens of ms), and registration asks per agent. */
const publicKeys = new Map<string, string>();
export function publicKeyOfSeed(seed: string): string {
  const known = publicKeys.get(seed);
  if (known !== undefined) return known;
  const derived: string = fromSeed(new TextEncoder().encode(seed)).getPublicKey();
  publicKeys.set(seed, derived);
  return derived;
}

const IDENTITY_FILE = "identity.json";

export interface NatsStateFiles {
  identityFile: string;
  controlPlaneCredsFile: string;
  systemCredsFile: string;
}

export function natsStateFiles(dir: string): NatsStateFiles {
  return {
    identityFile: join(dir, IDENTITY_FILE),
    controlPlaneCredsFile: join(dir, "controlplane.creds"),
    systemCredsFile: join(dir, "sys.creds"),
  };
}

async function writeSecretFile(path: string, content: string): Promise<void> {
  await writeFile(path, content, { mode: 0o600 });
  await chmod(path, 0o600);
}

/** Reuses the identity in `dir` when present, so restarts keep every issued credential valid. */
export async function loadOrCreateNatsIdentity(dir: string): Promise<NatsIdentity> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const files = natsStateFiles(dir);
  let identity: NatsIdentity;
  try {
    identity = JSON.parse(await readFile(files.identityFile, "utf8")) as NatsIdentity;
    let upgraded = false;
    if (!identity.commandSigningSeed) {
      // Identities made before command signing existed get their key added once.
      identity.commandSigningSeed = seedOf(createAccount());
      upgraded = true;
    }
    if (!decode<Account>(identity.appAccountJwt).nats.exports) {
      // Identities made before org accounts: the preloaded application account gets its exports.
      identity.appAccountJwt = await encodeAppAccount(identity);
      upgraded = true;
    }
    if (upgraded) await writeSecretFile(files.identityFile, JSON.stringify(identity, null, 2));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    identity = await createNatsIdentity();
    await writeSecretFile(files.identityFile, JSON.stringify(identity, null, 2));
  }
  await writeSecretFile(files.controlPlaneCredsFile, identity.controlPlaneCreds);
  await writeSecretFile(files.systemCredsFile, identity.systemCreds);
  return identity;
}

export interface NatsServerPorts {
  client: number;
  websocket: number;
  leafnode: number;
  monitor: number;
}

export interface ServerConfigOptions {
  serverName: string;
  host: string;
  ports: NatsServerPorts;
  resolverDir: string;
  jetstreamDir: string;
  tls: { certFile: string; keyFile: string; caFile?: string };
  /** `host:port` the hub advertises to leaf nodes instead of its listener's own address. */
  leafnodeAdvertise?: string;
  /** Set for a node of a cluster; omitted for a single server. */
  cluster?: ClusterOptions;
}

export interface ClusterOptions {
  /** The same on every node. */
  name: string;
  /** This node's route listener. */
  port: number;
  /** `tls://host:port` of every peer's route listener (this node's own is tolerated and ignored by the server). */
  routes: readonly string[];
}

const CLUSTER_NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const ROUTE_URL_PATTERN = /^tls:\/\/[A-Za-z0-9.\-[\]:]+:\d{1,5}$/;

/**
 * The `cluster {}` block: routes are TLS like every other listener and verify their peers with the installation's
 * CA (a route dials as a TLS client, so the certificate carries clientAuth: nats/tls.ts).
 */
export function renderClusterBlock(
  cluster: ClusterOptions,
  host: string,
  tls: { certFile: string; keyFile: string; caFile?: string },
): string {
  if (!CLUSTER_NAME_PATTERN.test(cluster.name))
    throw new Error(`cluster name "${cluster.name}" must match ${CLUSTER_NAME_PATTERN}`);
  if (!tls.caFile) throw new Error("a cluster node needs the CA file to verify its peers' routes");
  for (const route of cluster.routes) {
    if (!ROUTE_URL_PATTERN.test(route)) throw new Error(`route "${route}" must be tls://host:port`);
  }
  return [
    "cluster: {",
    `  name: ${cluster.name}`,
    `  host: ${host}`,
    `  port: ${cluster.port}`,
    "  tls: {",
    `    cert_file: "${tls.certFile}"`,
    `    key_file: "${tls.keyFile}"`,
    `    ca_file: "${tls.caFile}"`,
    "    verify: true",
    "    timeout: 2",
    "  }",
    `  routes: [${cluster.routes.map((r) => `"${r}"`).join(", ")}]`,
    "}",
  ].join("\n");
}

export const SERVER_CONFIG_TEMPLATE = join(dirname(fileURLToPath(import.meta.url)), "server.conf.template");

export async function renderServerConfig(identity: NatsIdentity, opts: ServerConfigOptions): Promise<string> {
  const template = await readFile(SERVER_CONFIG_TEMPLATE, "utf8");
  const values: Record<string, string> = {
    SERVER_NAME: opts.serverName,
    HOST: opts.host,
    CLIENT_PORT: String(opts.ports.client),
    WEBSOCKET_PORT: String(opts.ports.websocket),
    LEAFNODE_PORT: String(opts.ports.leafnode),
    MONITOR_PORT: String(opts.ports.monitor),
    OPERATOR_JWT: identity.operatorJwt,
    SYSTEM_ACCOUNT: publicKeyOfSeed(identity.systemAccountSeed),
    SYSTEM_ACCOUNT_JWT: identity.systemAccountJwt,
    APP_ACCOUNT: publicKeyOfSeed(identity.appAccountSeed),
    APP_ACCOUNT_JWT: identity.appAccountJwt,
    RESOLVER_DIR: opts.resolverDir,
    JETSTREAM_DIR: opts.jetstreamDir,
    TLS_CERT_FILE: opts.tls.certFile,
    TLS_KEY_FILE: opts.tls.keyFile,
    LEAFNODE_ADVERTISE: opts.leafnodeAdvertise
      ? `advertise: "${opts.leafnodeAdvertise.replace(/[^A-Za-z0-9.:[\]_-]/g, "")}"`
      : "# advertise: not set",
    CLUSTER_BLOCK: opts.cluster ? renderClusterBlock(opts.cluster, opts.host, opts.tls) : "",
  };
  const rendered = template.replace(/\{\{([A-Z_]+)\}\}/g, (_m, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`nats/server.conf.template: unknown placeholder {{${key}}}`);
    return value;
  });
  return rendered;
}
