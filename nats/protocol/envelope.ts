/**
 * Signed control plane → agent commands, and the agent's signed renewal request.
 *
 * The control plane's command-signing key is an ed25519 NKey of the *account* type (seed `SA…`, public key `A…`),
 * created by `createCommandSigningKey()`. It is not part of the NATS trust chain and is never given to a
 * nats-server: NATS permissions decide who may publish on `cmd.<clusterId>.>`, the signature proves the control
 * plane wrote the command, so a compromised broker or a leaf node on the customer's side cannot forge one.
 *
 * The signature covers the canonical JSON (keys sorted at every level, no whitespace) of every envelope field
 * except `sig`, prefixed with a domain string so a signature can never be reused for another kind of message.
 */
import { randomUUID } from "node:crypto";
import { createAccount, type KeyPair } from "nkeys.js";
import { nativeSigner, nativeVerifier, type NativeVerifier } from "../fast-signer.js";
import { CommandRejectedError, ProtocolError } from "./errors.js";
import {
  validateCommandPayload,
  validateMessage,
  type CommandEnvelope,
  type CommandPayloads,
  type NatsAccountKind,
  type RenewCredentialsRequest,
} from "./messages.js";
import type { CommandType } from "./subjects.js";

/** What the control plane uses unless a command needs longer. */
export const DEFAULT_COMMAND_TTL_MS = 2 * 60_000;
/** Bounds how long the agent must remember an id, hence the replay guard's memory. */
export const MAX_COMMAND_TTL_MS = 15 * 60_000;
/** Tolerated difference between the control plane's and the agent's clocks. */
export const MAX_CLOCK_SKEW_MS = 30_000;
/** A renewal request older (or newer) than this is refused. */
export const MAX_RENEW_REQUEST_AGE_MS = 5 * 60_000;

const COMMAND_DOMAIN = "stackyard.command.v1\n";
const RENEW_DOMAIN = "stackyard.renew.v1\n";

const encoder = new TextEncoder();

/** JSON with object keys sorted at every level: one byte sequence per value, on both sides. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") {
    const json = JSON.stringify(value);
    if (json === undefined) throw new ProtocolError("MALFORMED_MESSAGE", `cannot serialise a ${typeof value}`);
    return json;
  }
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

const toBase64Url = (bytes: Uint8Array): string => Buffer.from(bytes).toString("base64url");
const fromBase64Url = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, "base64url"));

/** The seed's native signer (fast-signer.ts), after checking its type. */
function keyPairFromSeed(seed: string, prefix: "SA" | "SU"): Pick<KeyPair, "sign" | "getPublicKey"> {
  if (!seed.startsWith(prefix)) throw new ProtocolError("INVALID_KEY", `expected an NKey seed starting with ${prefix}`);
  try {
    return nativeSigner(seed);
  } catch (err) {
    throw new ProtocolError("INVALID_KEY", "the NKey seed is not valid", { cause: err });
  }
}

function verifierOf(publicKey: string, prefix: "A" | "U"): NativeVerifier {
  if (!publicKey.startsWith(prefix)) {
    throw new ProtocolError("INVALID_KEY", `expected a public NKey starting with ${prefix}`);
  }
  try {
    return nativeVerifier(publicKey);
  } catch (err) {
    throw new ProtocolError("INVALID_KEY", "the public NKey is not valid", { cause: err });
  }
}

function verifySignature(key: NativeVerifier, message: string, sig: string): boolean {
  try {
    return key.verify(encoder.encode(message), fromBase64Url(sig));
  } catch {
    return false;
  }
}

export interface CommandSigningKey {
  /** Secret: keep it with the control plane's other secrets. */
  seed: string;
  publicKey: string;
}

export function createCommandSigningKey(): CommandSigningKey {
  const kp = createAccount();
  return { seed: new TextDecoder().decode(kp.getSeed()), publicKey: kp.getPublicKey() };
}

/** Derived once per seed (the native signer keeps it), and every registration answers with this key. */
export function commandSigningPublicKey(seed: string): string {
  return keyPairFromSeed(seed, "SA").getPublicKey();
}

/** Checks a configured public key once, at start, rather than on every command. */
export function assertCommandSigningPublicKey(publicKey: string): string {
  verifierOf(publicKey, "A");
  return publicKey;
}

export type UnsignedEnvelope = Omit<CommandEnvelope, "sig">;

/** Signs exactly the given fields. Prefer `signCommand`, which also validates the payload. */
export function signEnvelope(seed: string, fields: UnsignedEnvelope): CommandEnvelope {
  const key = keyPairFromSeed(seed, "SA");
  const sig = toBase64Url(key.sign(encoder.encode(COMMAND_DOMAIN + canonicalJson(fields))));
  return { ...fields, sig };
}

export interface SignCommandFields<T extends CommandType> {
  type: T;
  orgId: string;
  clusterId: string;
  payload: CommandPayloads[T];
  /** Defaults to a random UUID. */
  id?: string;
  /** Defaults to now. */
  issuedAt?: number;
  /** Defaults to `DEFAULT_COMMAND_TTL_MS`; at most `MAX_COMMAND_TTL_MS`. */
  ttlMs?: number;
}

export function signCommand<T extends CommandType>(seed: string, fields: SignCommandFields<T>): CommandEnvelope {
  const ttlMs = fields.ttlMs ?? DEFAULT_COMMAND_TTL_MS;
  if (!Number.isInteger(ttlMs) || ttlMs <= 0 || ttlMs > MAX_COMMAND_TTL_MS) {
    throw new ProtocolError("MALFORMED_MESSAGE", `ttlMs must be an integer in 1..${MAX_COMMAND_TTL_MS}`);
  }
  // Round-tripping through JSON makes the signed payload exactly what the agent will parse.
  const payload = JSON.parse(JSON.stringify(validateCommandPayload(fields.type, fields.payload))) as Record<
    string,
    unknown
  >;
  const issuedAt = fields.issuedAt ?? Date.now();
  const envelope = signEnvelope(seed, {
    v: 1,
    id: fields.id ?? randomUUID(),
    type: fields.type,
    orgId: fields.orgId,
    clusterId: fields.clusterId,
    issuedAt,
    expiresAt: issuedAt + ttlMs,
    payload,
  });
  return validateMessage("CommandEnvelope", envelope);
}

export interface ReplayGuardOptions {
  /** Unexpired ids remembered at most; past that, commands are refused rather than forgetting ids early. */
  maxEntries?: number;
  /** How often (ms, by the `now` passed in) expired ids are swept. */
  sweepIntervalMs?: number;
}

export const DEFAULT_REPLAY_GUARD_MAX_ENTRIES = 100_000;

/**
 * Remembers command ids until their expiry, so a captured command cannot be replayed while it is still valid.
 * Memory is bounded: ids are dropped once expired, and at most `maxEntries` unexpired ids are kept.
 * In memory only: after an agent restart, commands accepted before it could be replayed until they expire,
 * which command TTLs of minutes and idempotent handlers (deployment ids) make harmless.
 */
export class ReplayGuard {
  private readonly seen = new Map<string, number>();
  private readonly maxEntries: number;
  private readonly sweepIntervalMs: number;
  private lastSweep = 0;

  constructor(opts: ReplayGuardOptions = {}) {
    this.maxEntries = opts.maxEntries ?? DEFAULT_REPLAY_GUARD_MAX_ENTRIES;
    this.sweepIntervalMs = opts.sweepIntervalMs ?? 60_000;
    if (!Number.isInteger(this.maxEntries) || this.maxEntries < 1) throw new RangeError("maxEntries must be >= 1");
  }

  get size(): number {
    return this.seen.size;
  }

  /** Records `id` as used until `rememberUntil`; throws REPLAYED when it was already used. */
  remember(id: string, rememberUntil: number, now: number): void {
    if (now - this.lastSweep >= this.sweepIntervalMs || this.seen.size >= this.maxEntries) this.sweep(now);
    const until = this.seen.get(id);
    if (until !== undefined && until >= now) {
      throw new CommandRejectedError("REPLAYED", "this command id was already received", id);
    }
    if (until === undefined && this.seen.size >= this.maxEntries) {
      throw new CommandRejectedError(
        "REPLAY_GUARD_FULL",
        `more than ${this.maxEntries} unexpired commands received; refusing until some expire`,
        id,
      );
    }
    this.seen.set(id, rememberUntil);
  }

  sweep(now: number): void {
    this.lastSweep = now;
    for (const [id, until] of this.seen) if (until < now) this.seen.delete(id);
  }
}

export interface VerifyCommandOptions {
  /** The control plane's command-signing public key (A…), from registration. */
  publicKey: string;
  /** This agent's cluster. */
  clusterId: string;
  now: number;
  replayGuard: ReplayGuard;
}

/**
 * Verifies a received envelope in an order that reveals nothing to a forger: shape, then signature, then
 * whether it is meant for this cluster, still valid and new. Throws CommandRejectedError.
 */
export function verifyCommand(envelope: unknown, opts: VerifyCommandOptions): CommandEnvelope {
  let parsed: CommandEnvelope;
  try {
    parsed = validateMessage("CommandEnvelope", envelope);
  } catch (err) {
    const id = (envelope as { id?: unknown } | null)?.id;
    const reason = err instanceof ProtocolError ? err.reason : "not a command envelope";
    throw new CommandRejectedError("MALFORMED_MESSAGE", reason, typeof id === "string" ? id.slice(0, 64) : null, {
      cause: err,
    });
  }
  const { sig, ...unsigned } = parsed;
  const key = verifierOf(opts.publicKey, "A");
  if (!verifySignature(key, COMMAND_DOMAIN + canonicalJson(unsigned), sig)) {
    throw new CommandRejectedError("BAD_SIGNATURE", "the signature does not match the control plane's key", parsed.id);
  }
  if (parsed.clusterId !== opts.clusterId) {
    throw new CommandRejectedError("WRONG_CLUSTER", "the command is addressed to another cluster", parsed.id);
  }
  if (parsed.expiresAt <= parsed.issuedAt || parsed.expiresAt - parsed.issuedAt > MAX_COMMAND_TTL_MS) {
    throw new CommandRejectedError(
      "MALFORMED_MESSAGE",
      `expiresAt must be after issuedAt by at most ${MAX_COMMAND_TTL_MS} ms`,
      parsed.id,
    );
  }
  if (parsed.issuedAt > opts.now + MAX_CLOCK_SKEW_MS) {
    throw new CommandRejectedError(
      "EXPIRED",
      `issued ${parsed.issuedAt - opts.now} ms in the future by this agent's clock (allowed skew ${MAX_CLOCK_SKEW_MS} ms)`,
      parsed.id,
    );
  }
  if (opts.now > parsed.expiresAt + MAX_CLOCK_SKEW_MS) {
    throw new CommandRejectedError("EXPIRED", `expired ${opts.now - parsed.expiresAt} ms ago`, parsed.id);
  }
  opts.replayGuard.remember(parsed.id, parsed.expiresAt + MAX_CLOCK_SKEW_MS, opts.now);
  return parsed;
}

/** The agent proves with its own seed that a renewal request comes from it. */
export function signRenewRequest(
  agentSeed: string,
  fields: { clusterId: string; requestedAt: number; natsAccount?: NatsAccountKind },
): RenewCredentialsRequest {
  const key = keyPairFromSeed(agentSeed, "SU");
  const unsigned = {
    clusterId: fields.clusterId,
    publicKey: key.getPublicKey(),
    requestedAt: fields.requestedAt,
    ...(fields.natsAccount ? { natsAccount: fields.natsAccount } : {}),
  };
  const sig = toBase64Url(key.sign(encoder.encode(RENEW_DOMAIN + canonicalJson(unsigned))));
  return validateMessage("RenewCredentialsRequest", { ...unsigned, sig });
}

export interface VerifyRenewOptions {
  /** The public key registered for the cluster (from the database, never from the request). */
  registeredPublicKey: string;
  /** The cluster the request arrived for (from the subject, which NATS permissions guarantee). */
  clusterId: string;
  now: number;
}

/** Control-plane side: a fresh request, signed by the registered agent key, for the subject's cluster. */
export function verifyRenewRequest(request: unknown, opts: VerifyRenewOptions): RenewCredentialsRequest {
  let parsed: RenewCredentialsRequest;
  try {
    parsed = validateMessage("RenewCredentialsRequest", request);
  } catch (err) {
    const reason = err instanceof ProtocolError ? err.reason : "not a renewal request";
    throw new CommandRejectedError("MALFORMED_MESSAGE", reason, null, { cause: err });
  }
  if (parsed.publicKey !== opts.registeredPublicKey) {
    throw new CommandRejectedError("BAD_SIGNATURE", "the key is not the one registered for this cluster");
  }
  const { sig, ...unsigned } = parsed;
  if (!verifySignature(verifierOf(parsed.publicKey, "U"), RENEW_DOMAIN + canonicalJson(unsigned), sig)) {
    throw new CommandRejectedError("BAD_SIGNATURE", "the signature does not match the agent's key");
  }
  if (parsed.clusterId !== opts.clusterId) {
    throw new CommandRejectedError("WRONG_CLUSTER", "the request names another cluster");
  }
  if (Math.abs(opts.now - parsed.requestedAt) > MAX_RENEW_REQUEST_AGE_MS) {
    throw new CommandRejectedError("EXPIRED", `requestedAt is more than ${MAX_RENEW_REQUEST_AGE_MS} ms from now`);
  }
  return parsed;
}
