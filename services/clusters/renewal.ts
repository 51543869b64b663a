/**
 * The control plane's answer on `agent.<clusterId>.renew`: verify the request against the registered key, mint a
 * fresh JWT, and encode the reply (refusals included) with the protocol's own encoder, so the agent can read it.
 */
import { verifyRenewRequest } from "../../nats/protocol/envelope.js";
import { errorReply, type NatsAccountKind, type RenewReply } from "../../nats/protocol/messages.js";
import { isClusterId } from "./agent-ingest.js";

export interface RenewalDeps {
  /** The public key registered for the cluster, or null when no agent is. */
  registeredAgentKey(clusterId: string): Promise<string | null>;
  /** `natsAccount` "org": the agent asks for a credential of its org's own account. */
  renew(clusterId: string, publicKey: string, natsAccount?: NatsAccountKind): Promise<{ jwt: string; expiresAt: Date }>;
  now(): number;
}

/** The reply to one renewal request; never throws: every failure is an ErrorReply with the error's stable code. */
export async function answerRenewal(subject: string, data: Uint8Array, deps: RenewalDeps): Promise<RenewReply> {
  try {
    const clusterId = subject.split(".")[1] ?? "";
    if (!isClusterId(clusterId)) return errorReply("WRONG_CLUSTER", "unknown cluster");
    const registered = await deps.registeredAgentKey(clusterId);
    if (!registered) return errorReply("CREDENTIAL_REVOKED", "no agent is registered for this cluster");
    const request = verifyRenewRequest(JSON.parse(new TextDecoder().decode(data)), {
      registeredPublicKey: registered,
      clusterId,
      now: deps.now(),
    });
    const credential = await deps.renew(clusterId, request.publicKey, request.natsAccount);
    return { ok: true, jwt: credential.jwt, expiresAt: credential.expiresAt.getTime() };
  } catch (error) {
    // Moleculer errors carry their code in `type`; protocol errors in `code`.
    const e = error as { type?: unknown; code?: unknown; message?: unknown };
    const code = typeof e.type === "string" ? e.type : typeof e.code === "string" ? e.code : undefined;
    return errorReply(code, typeof e.message === "string" ? e.message : "rejected");
  }
}
