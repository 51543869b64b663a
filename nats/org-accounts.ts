/**
 * One NATS account per org: the tenant boundary on the bus, enforced by nats-server itself.
 *
 *   operator ─┬─ SYS                    the system account (account-JWT pushes, CONNZ)
 *             ├─ STACKYARD              the control plane's account: its services, JetStream, integration publisher
 *             └─ ORG <orgId>  (one per org)  that org's agents, integration users and browsers' live users
 *
 * Nothing crosses between accounts except what the control plane's account exports and an org's account imports,
 * and both JWTs are signed here (operator and account keys never leave the control plane), so an org's account
 * imports exactly its own subjects:
 *
 *   STACKYARD exports (all `token_req`: an import needs an activation token naming the importing account)
 *     service  agent.>          heartbeats, inventory, renewal, command replies, logs, exec output (agent → CP)
 *     service  agent-events.>   deployment events into STACKYARD_AGENT_EVENTS; the JetStream ack comes back
 *     stream   cmd.>            signed commands (CP → agent); the reply subject is the agent's agent.<c>.reply.<id>
 *     stream   exec-in.>        exec session input (CP → agent)
 *     stream   stackyard.>      the integration event catalogue (openapi/asyncapi.yaml)
 *
 *   ORG <orgId> imports, per cluster <c> of the org: service agent.<c>.>, agent-events.<c>.>,
 *   stream cmd.<c>.>, exec-in.<c>.>; once: stream stackyard.<orgId>.>. Each with its activation token.
 *
 * An org's account has no JetStream of its own on the hub (storage limits 0), no exports, and explicit limits on
 * connections, leaf nodes, subscriptions and payload. Its keys are derived from the operator seed (HKDF, per org),
 * so no new secret is stored anywhere: whoever holds the operator seed can sign any account anyway.
 */
import { hkdfSync } from "node:crypto";
import {
  encodeAccount,
  encodeActivation,
  fromPublic,
  fromSeed,
  type Account,
  type Import,
  type KeyPair,
} from "nats-jwt";
import type { NatsConnection } from "nats";
import { encodeNKey, nativeSigner, rawSeedOf, SEED_PREFIX } from "./fast-signer.js";
import { publicKeyOfSeed, type NatsIdentity } from "./identity.js";
import { assertSubjectToken, commandWildcard, DEPLOYMENT_EVENTS_ROOT, EXEC_INPUT_ROOT } from "./protocol/subjects.js";
import { integrationSubjects } from "./protocol/integration-subjects.js";

/** Per-account limits of an org's account. nats-server treats only -1 as unlimited; an omitted limit means 0. */
export interface OrgAccountLimits {
  /** Client connections at once (agents, integrations, browsers' live users); one more is refused. */
  conn: number;
  /** Leaf-node connections at once (one per leaf-mode agent). */
  leaf: number;
  /** Subscriptions at once over the whole account. */
  subs: number;
  /** Largest message, bytes. */
  payload: number;
  /** Bytes; nats-server 2.9/2.10 does not enforce an account data limit, written for completeness. */
  data: number;
  /** JetStream on the hub, in this account (none: events go into the control plane's stream by service import). */
  mem_storage: number;
  disk_storage: number;
  streams: number;
  consumer: number;
}

export const DEFAULT_ORG_ACCOUNT_LIMITS: OrgAccountLimits = {
  conn: 1_000,
  leaf: 100,
  subs: 100_000,
  payload: 1024 * 1024,
  data: -1,
  mem_storage: 0,
  disk_storage: 0,
  streams: 0,
  consumer: 0,
};

/** Limits stored per org (`nats_org_accounts.limits_json`) override the defaults key by key. */
export function orgAccountLimits(overrides: Partial<OrgAccountLimits> = {}): OrgAccountLimits {
  const limits = { ...DEFAULT_ORG_ACCOUNT_LIMITS };
  for (const key of Object.keys(limits) as (keyof OrgAccountLimits)[]) {
    const value = overrides[key];
    if (typeof value === "number" && Number.isInteger(value) && value >= -1) limits[key] = value;
  }
  return limits;
}

// ---- keys -------------------------------------------------------------------------------------------------------

const PREFIX_BYTE_ACCOUNT = 0;

/** An account-type NKey seed ("SA…") holding the given 32-byte Ed25519 seed. */
export function encodeAccountSeed(raw: Uint8Array): string {
  if (raw.length !== 32) throw new Error("an Ed25519 seed has 32 bytes");
  const body = new Uint8Array(34);
  body[0] = SEED_PREFIX | (PREFIX_BYTE_ACCOUNT >> 5);
  body[1] = (PREFIX_BYTE_ACCOUNT & 31) << 3;
  body.set(raw, 2);
  return encodeNKey(body);
}

export interface OrgAccountKeys {
  /** The account's identity key (its public key names the account; the operator signs its JWT). */
  accountSeed: string;
  accountPublicKey: string;
  /** Signs the org's user JWTs (agents, integration and live users). */
  signingSeed: string;
  signingPublicKey: string;
}

const derivedKeys = new Map<string, OrgAccountKeys>();

/** The org's account keys, the same on every control-plane process and every run (derived, never stored). */
export function orgAccountKeys(identity: Pick<NatsIdentity, "operatorSeed">, orgId: string): OrgAccountKeys {
  assertSubjectToken(orgId, "orgId");
  const cacheKey = `${identity.operatorSeed}\0${orgId}`;
  const known = derivedKeys.get(cacheKey);
  if (known) return known;
  const ikm = rawSeedOf(identity.operatorSeed);
  const derive = (role: string) =>
    encodeAccountSeed(new Uint8Array(hkdfSync("sha256", ikm, "stackyard/nats/org-account/v1", `${role}:${orgId}`, 32)));
  const accountSeed = derive("account");
  const signingSeed = derive("signing");
  const keys = {
    accountSeed,
    accountPublicKey: publicKeyOfSeed(accountSeed),
    signingSeed,
    signingPublicKey: publicKeyOfSeed(signingSeed),
  };
  derivedKeys.set(cacheKey, keys);
  return keys;
}

/** What `mintUserJwt` needs to issue a user of the org's account. */
export function orgUserIssuer(
  identity: Pick<NatsIdentity, "operatorSeed">,
  orgId: string,
): { appAccountPublicKey: string; appSigningSeed: string } {
  const keys = orgAccountKeys(identity, orgId);
  return { appAccountPublicKey: keys.accountPublicKey, appSigningSeed: keys.signingSeed };
}

// ---- an org's account JWT ---------------------------------------------------------------------------------------

export interface OrgAccountState {
  orgId: string;
  /** The org's clusters (every one whose agent may connect): each gets its own imports. */
  clusterIds: readonly string[];
  /** Revoked user keys of the org's account → revoked-at (seconds). */
  revocations: Record<string, number>;
  limits: OrgAccountLimits;
}

const activationCache = new Map<string, string>();

/** An activation token: the control plane's account lets `importer` import `subject` (cached per pair). */
async function activation(
  identity: Pick<NatsIdentity, "appAccountSeed">,
  importer: string,
  subject: string,
  kind: "service" | "stream",
): Promise<string> {
  const key = `${identity.appAccountSeed}\0${importer}\0${kind}\0${subject}`;
  const known = activationCache.get(key);
  if (known) return known;
  const token = await encodeActivation(subject, fromPublic(importer), nativeSigner(identity.appAccountSeed), kind, {
    subject,
    kind,
  });
  activationCache.set(key, token);
  return token;
}

/** The imports of an org's account: every per-cluster path and the org's integration subjects. */
export async function orgAccountImports(
  identity: Pick<NatsIdentity, "operatorSeed" | "appAccountSeed">,
  orgId: string,
  clusterIds: readonly string[],
): Promise<Import[]> {
  const importer = orgAccountKeys(identity, orgId).accountPublicKey;
  const exporter = publicKeyOfSeed(identity.appAccountSeed);
  const imports: Import[] = [];
  const add = async (name: string, subject: string, type: "service" | "stream") => {
    imports.push({
      name,
      subject,
      type,
      account: exporter,
      token: await activation(identity, importer, subject, type),
    });
  };
  for (const clusterId of [...new Set(clusterIds)].sort()) {
    const c = assertSubjectToken(clusterId, "clusterId");
    await add(`agent ${c}`, `agent.${c}.>`, "service");
    await add(`events ${c}`, `${DEPLOYMENT_EVENTS_ROOT}.${c}.>`, "service");
    await add(`commands ${c}`, commandWildcard(c), "stream");
    await add(`exec input ${c}`, `${EXEC_INPUT_ROOT}.${c}.>`, "stream");
  }
  await add("integration events", integrationSubjects.orgWildcard(orgId), "stream");
  return imports;
}

export async function encodeOrgAccount(
  identity: Pick<NatsIdentity, "operatorSeed" | "appAccountSeed">,
  state: OrgAccountState,
): Promise<string> {
  const keys = orgAccountKeys(identity, state.orgId);
  const claims: Partial<Account> = {
    limits: {
      ...state.limits,
      imports: -1,
      exports: 0,
      wildcards: true,
      disallow_bearer: true,
    },
    signing_keys: [keys.signingPublicKey],
    imports: await orgAccountImports(identity, state.orgId, state.clusterIds),
    ...(Object.keys(state.revocations).length > 0 ? { revocations: state.revocations } : {}),
  };
  return encodeAccount(`org-${state.orgId}`, fromSeed(new TextEncoder().encode(keys.accountSeed)) as KeyPair, claims, {
    signer: nativeSigner(identity.operatorSeed),
  });
}

export class AccountPushError extends Error {
  override name = "AccountPushError";
  readonly code = "NATS_ACCOUNT_PUSH_FAILED";
}

/**
 * Pushes an account JWT (new or changed) to the full resolver through the system account; in a cluster the
 * resolvers replicate it to every node. The server answers with an error for a JWT it refuses, and ignores
 * (answers an error for) one not newer than what it holds.
 */
export async function pushAccountJwt(system: NatsConnection, accountJwt: string): Promise<void> {
  let reply;
  try {
    reply = await system.request("$SYS.REQ.CLAIMS.UPDATE", new TextEncoder().encode(accountJwt), { timeout: 5_000 });
  } catch (err) {
    throw new AccountPushError(`nats-server did not answer the account update: ${String(err)}`, { cause: err });
  }
  const answer = JSON.parse(new TextDecoder().decode(reply.data)) as { error?: { description?: string } };
  if (answer.error)
    throw new AccountPushError(`nats-server refused the account update: ${answer.error.description ?? "unknown"}`);
}
