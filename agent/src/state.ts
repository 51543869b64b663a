/**
 * The agent's state directory: its NKey seed, its current JWT and what registration returned. The directory is
 * 0700 and every file 0600, written atomically (temp file + rename) so a crash never leaves half a credential.
 * `agent.creds` holds the same JWT + seed in the NATS creds format, for a customer-side leaf node's `credentials`.
 */
import { chmod, mkdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Ajv, type JSONSchemaType } from "ajv";
import { fmtCreds, fromSeed } from "nats-jwt";
import { SEAL_KEY_PATTERN, assertSealKeyPair } from "../../nats/protocol/sealing.js";
import { AgentError } from "./errors.js";

export const STATE_FILE = "state.json";
export const CREDS_FILE = "agent.creds";

export interface AgentState {
  version: 1;
  clusterId: string;
  orgId: string;
  /** The agent's user NKey; `seed` is its secret half and never leaves this directory. */
  publicKey: string;
  seed: string;
  jwt: string;
  /** ms since the epoch. */
  jwtExpiresAt: number;
  natsUrls: string[];
  /**
   * The CA of the NATS server's certificate, pinned at registration (PEM): the link trusts it and nothing else.
   * Absent in registrations made before TLS, or when the control plane relies on a public CA.
   */
  natsCa?: string;
  commandSigningPublicKey: string;
  /**
   * The agent's X25519 key pair (raw, base64url) that the control plane seals secret values to; the private half
   * never leaves this file. Absent in registrations made before sealing: such an agent gets no secrets until it
   * registers again.
   */
  sealPublicKey?: string;
  sealPrivateKey?: string;
  controlPlaneUrl: string;
  registeredAt: number;
}

const schema: JSONSchemaType<AgentState> = {
  type: "object",
  additionalProperties: false,
  required: [
    "version",
    "clusterId",
    "orgId",
    "publicKey",
    "seed",
    "jwt",
    "jwtExpiresAt",
    "natsUrls",
    "commandSigningPublicKey",
    "controlPlaneUrl",
    "registeredAt",
  ],
  properties: {
    version: { type: "integer", const: 1 },
    clusterId: { type: "string", minLength: 1 },
    orgId: { type: "string", minLength: 1 },
    publicKey: { type: "string", pattern: "^U[A-Z2-7]{55}$" },
    seed: { type: "string", pattern: "^SU[A-Z2-7]{56}$" },
    jwt: { type: "string", minLength: 1 },
    jwtExpiresAt: { type: "integer", minimum: 0 },
    natsUrls: { type: "array", minItems: 1, items: { type: "string" } },
    natsCa: { type: "string", nullable: true, pattern: "^-----BEGIN CERTIFICATE-----", maxLength: 65536 },
    commandSigningPublicKey: { type: "string", pattern: "^A[A-Z2-7]{55}$" },
    sealPublicKey: { type: "string", nullable: true, pattern: SEAL_KEY_PATTERN },
    sealPrivateKey: { type: "string", nullable: true, pattern: SEAL_KEY_PATTERN },
    controlPlaneUrl: { type: "string" },
    registeredAt: { type: "integer", minimum: 0 },
  },
};
const validate = new Ajv({ allErrors: true, strict: true }).compile(schema);

/** The seal key pair of a state, when it has one (both halves or neither: checked on load). */
export function sealKeys(state: AgentState): { publicKey: string; privateKey: string } | null {
  return state.sealPublicKey !== undefined && state.sealPrivateKey !== undefined
    ? { publicKey: state.sealPublicKey, privateKey: state.sealPrivateKey }
    : null;
}

export const stateFiles = (dir: string) => ({ state: join(dir, STATE_FILE), creds: join(dir, CREDS_FILE) });

async function writeSecret(path: string, content: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, content, { mode: 0o600, flag: "w" });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}

export async function saveState(dir: string, state: AgentState): Promise<void> {
  if (!validate(state)) throw new AgentError("STATE_INVALID", `refusing to save invalid state: ${ajvReason()}`);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const files = stateFiles(dir);
  const creds = new TextDecoder().decode(fmtCreds(state.jwt, fromSeed(new TextEncoder().encode(state.seed))));
  await writeSecret(files.creds, creds);
  await writeSecret(files.state, JSON.stringify(state, null, 2) + "\n");
}

export async function stateExists(dir: string): Promise<boolean> {
  try {
    await stat(stateFiles(dir).state);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
}

function ajvReason(): string {
  return (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? "invalid"}`).join("; ");
}

/** Like ssh with a private key: refuse state that others on the host could read. */
export async function loadState(dir: string): Promise<AgentState> {
  const file = stateFiles(dir).state;
  let raw: string;
  try {
    const info = await stat(file);
    if ((info.mode & 0o077) !== 0) {
      throw new AgentError(
        "STATE_INSECURE",
        `${file} is readable by other users (mode ${(info.mode & 0o777).toString(8)}); run chmod 600 on it`,
      );
    }
    raw = await readFile(file, "utf8");
  } catch (err) {
    if (err instanceof AgentError) throw err;
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      throw new AgentError("STATE_MISSING", `no registration found in ${dir}: run "stackyard-agent register" first`);
    }
    throw new AgentError("STATE_INVALID", `cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new AgentError("STATE_INVALID", `${file} is not valid JSON`, { cause: err });
  }
  if (!validate(parsed)) throw new AgentError("STATE_INVALID", `${file} is invalid: ${ajvReason()}`);
  if (fromSeed(new TextEncoder().encode(parsed.seed)).getPublicKey() !== parsed.publicKey) {
    throw new AgentError("STATE_INVALID", `${file}: the seed does not belong to the public key`);
  }
  if ((parsed.sealPublicKey === undefined) !== (parsed.sealPrivateKey === undefined)) {
    throw new AgentError("STATE_INVALID", `${file}: the seal key pair is incomplete; register again`);
  }
  const keys = sealKeys(parsed);
  if (keys) {
    try {
      assertSealKeyPair(keys);
    } catch (err) {
      throw new AgentError("STATE_INVALID", `${file}: ${(err as Error).message}; register again`, { cause: err });
    }
  }
  return parsed;
}
