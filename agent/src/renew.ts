/**
 * Credential renewal over NATS: when less than a third of the JWT's lifetime remains, the agent asks the
 * control plane for a fresh one on `agent.<clusterId>.renew`, proving with its seed that it is the registered
 * agent, stores it, and reconnects so the server sees the new JWT. Failures are retried with backoff; if the JWT
 * expires anyway the server drops the connection and the agent must be registered again.
 */
import { signRenewRequest } from "../../nats/protocol/envelope.js";
import { ProtocolError } from "../../nats/protocol/errors.js";
import { decodeRenewReply, type RenewCredentialsResponse } from "../../nats/protocol/messages.js";
import { agentSubjects } from "../../nats/protocol/subjects.js";
import { AgentError } from "./errors.js";
import { decodeUserJwt } from "./jwt.js";
import type { Logger } from "./logger.js";
import { createBackoff, sleep } from "./schedule.js";
import type { AgentState } from "./state.js";

export const RENEW_REQUEST_TIMEOUT_MS = 15_000;
export const RENEW_RETRY_MIN_MS = 60_000;
export const RENEW_RETRY_MAX_MS = 30 * 60_000;
/** Timers cannot wait 20 days (setTimeout overflows after 24.8); re-check at least hourly instead. */
export const MAX_RENEW_WAIT_MS = 3_600_000;

/** When to renew: once two thirds of the lifetime have passed. */
export function renewalDueAt(state: Pick<AgentState, "jwt" | "jwtExpiresAt" | "registeredAt">): number {
  const iat = decodeUserJwt(state.jwt)?.iat;
  const issuedAt = iat !== undefined ? iat * 1000 : state.registeredAt;
  const lifetime = Math.max(0, state.jwtExpiresAt - issuedAt);
  return state.jwtExpiresAt - Math.floor(lifetime / 3);
}

export interface RenewalDeps {
  getState(): AgentState;
  /** Persists the state and makes it the one the link authenticates with. */
  setState(state: AgentState): Promise<void>;
  request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array>;
  reconnect(): Promise<void>;
  now(): number;
  log: Logger;
}

/** The agent's reading of a renewal reply: the fresh credential, or an AgentError naming the refusal's code. */
export function parseRenewReply(data: Uint8Array): RenewCredentialsResponse {
  let reply;
  try {
    reply = decodeRenewReply(data);
  } catch (err) {
    if (err instanceof ProtocolError) {
      throw new AgentError("RENEWAL_FAILED", `unexpected renewal reply: ${err.reason}`, { cause: err });
    }
    throw err;
  }
  if (!reply.ok) {
    throw new AgentError("RENEWAL_FAILED", `the control plane refused to renew: ${reply.code}: ${reply.reason}`);
  }
  return reply;
}

export async function renewCredentials(deps: RenewalDeps): Promise<AgentState> {
  const state = deps.getState();
  // "org": this agent lives in its org's own NATS account (an agent registered before org accounts moves there now).
  const request = signRenewRequest(state.seed, {
    clusterId: state.clusterId,
    requestedAt: deps.now(),
    natsAccount: "org",
  });
  let reply: Uint8Array;
  try {
    reply = await deps.request(
      agentSubjects(state.clusterId).renew,
      new TextEncoder().encode(JSON.stringify(request)),
      RENEW_REQUEST_TIMEOUT_MS,
    );
  } catch (err) {
    throw new AgentError("RENEWAL_FAILED", `no answer to the renewal request: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const renewed = parseRenewReply(reply);
  if (decodeUserJwt(renewed.jwt)?.sub !== state.publicKey) {
    throw new AgentError("RENEWAL_FAILED", "the renewed JWT is not for this agent's key");
  }
  if (renewed.expiresAt <= state.jwtExpiresAt) {
    throw new AgentError("RENEWAL_FAILED", "the renewed JWT does not expire later than the current one");
  }
  const next: AgentState = { ...state, jwt: renewed.jwt, jwtExpiresAt: renewed.expiresAt };
  await deps.setState(next);
  deps.log.info("credentials renewed", { expiresAt: new Date(next.jwtExpiresAt).toISOString() });
  try {
    await deps.reconnect();
  } catch (err) {
    // The old JWT keeps working until it expires; the next reconnect uses the new one either way.
    deps.log.warn("reconnect after renewal failed", { err });
  }
  return next;
}

/** Waits for each renewal to fall due and performs it, until `signal` aborts. */
export async function runRenewal(deps: RenewalDeps, signal: AbortSignal): Promise<void> {
  const backoff = createBackoff({ initialMs: RENEW_RETRY_MIN_MS, maxMs: RENEW_RETRY_MAX_MS });
  while (!signal.aborted) {
    const wait = renewalDueAt(deps.getState()) - deps.now();
    if (wait > 0) {
      await sleep(Math.min(wait, MAX_RENEW_WAIT_MS), signal);
      continue;
    }
    try {
      await renewCredentials(deps);
      backoff.reset();
    } catch (err) {
      const retryInMs = backoff.next();
      deps.log.error("credential renewal failed", {
        err,
        retryInMs,
        expiresAt: new Date(deps.getState().jwtExpiresAt).toISOString(),
      });
      await sleep(retryInMs, signal);
    }
  }
}
