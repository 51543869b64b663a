/**
 * A stand-in agent for service-level tests: registers through the real API, connects to the real NATS with
 * its own NKey and minted JWT (so the real permissions apply), verifies signed commands with the real protocol
 * code, and lets the test script the replies and the deployment events it publishes on JetStream.
 */
import { connect, jwtAuthenticator, type JetStreamClient, type NatsConnection } from "nats";
import { createUser } from "nkeys.js";
import { ReplayGuard, verifyCommand } from "../../../nats/protocol/envelope.js";
import {
  encodeMessage,
  type CommandEnvelope,
  type DeploymentEvent,
  type DeploymentEventBatch,
  type DeploymentOutcome,
} from "../../../nats/protocol/messages.js";
import { createSealKeyPair, type SealKeyPair } from "../../../nats/protocol/sealing.js";
import { agentInboxPrefix, agentSubjects, commandWildcard } from "../../../nats/protocol/subjects.js";
import type { ContractClient } from "./http.js";

export type FakeHandler = (command: CommandEnvelope) => Promise<Record<string, unknown>> | Record<string, unknown>;

export interface FakeAgent {
  clusterId: string;
  orgId: string;
  nc: NatsConnection;
  js: JetStreamClient;
  received: CommandEnvelope[];
  /** The X25519 pair it registered for sealing; null when started with `{ sealKey: false }` (a pre-sealing agent). */
  sealKeys: SealKeyPair | null;
  handlers: Map<string, FakeHandler>;
  emit(
    deploymentId: string,
    seq: number,
    message: string,
    opts?: { level?: DeploymentEvent["level"]; outcome?: DeploymentOutcome; data?: Record<string, unknown> },
  ): Promise<void>;
  /** Publishes consecutive events as one DeploymentEventBatch, as the real agent does when lines pile up. */
  emitBatch(
    deploymentId: string,
    events: Array<{ seq: number; message: string; outcome?: DeploymentOutcome }>,
  ): Promise<void>;
  close(): Promise<void>;
}

export async function startFakeAgent(
  api: ContractClient,
  natsUrl: string,
  org: { orgId: string; auth: Record<string, string> },
  clusterName: string,
  options: { sealKey?: boolean } = {},
): Promise<FakeAgent> {
  const created = await api.request<{ cluster: { id: string }; registrationToken: string }>(
    "POST",
    `/v1/orgs/${org.orgId}/clusters`,
    {
      body: { name: clusterName },
      headers: org.auth,
    },
  );
  if (created.status !== 201) throw new Error(`cluster creation failed: ${JSON.stringify(created.body)}`);
  const key = createUser();
  const sealKeys = options.sealKey === false ? null : createSealKeyPair();
  const reg = await api.request<{
    clusterId: string;
    orgId: string;
    jwt: string;
    commandSigningPublicKey: string;
    natsCa?: string;
  }>("POST", "/v1/agent/register", {
    body: {
      token: created.body.registrationToken,
      publicKey: key.getPublicKey(),
      ...(sealKeys ? { sealPublicKey: sealKeys.publicKey } : {}),
      hostname: "fake-agent",
      agentVersion: "0.0.0-test",
      docker: {
        dockerVersion: "0",
        apiVersion: "1.41",
        os: "test",
        arch: "x86_64",
        swarmState: "active",
        isManager: true,
        nodeId: "n1",
        clusterId: "s1",
        nodeCount: 1,
        managerCount: 1,
      },
    },
  });
  if (reg.status !== 200) throw new Error(`registration failed: ${JSON.stringify(reg.body)}`);
  const { clusterId, orgId, jwt, commandSigningPublicKey, natsCa } = reg.body;
  // Like the real agent: trust only the CA the registration handed back.
  const nc = await connect({
    servers: natsUrl,
    tls: natsCa ? { ca: natsCa } : {},
    authenticator: jwtAuthenticator(jwt, key.getSeed()),
    inboxPrefix: agentInboxPrefix(clusterId),
  });
  const js = nc.jetstream();
  const guard = new ReplayGuard();
  const handlers = new Map<string, FakeHandler>();
  const received: CommandEnvelope[] = [];
  const enc = new TextEncoder();
  nc.subscribe(commandWildcard(clusterId), {
    callback: (_err, msg) => {
      void (async () => {
        let envelope: CommandEnvelope;
        try {
          envelope = verifyCommand(JSON.parse(new TextDecoder().decode(msg.data)), {
            publicKey: commandSigningPublicKey,
            clusterId,
            now: Date.now(),
            replayGuard: guard,
          });
        } catch (err) {
          msg.respond(
            enc.encode(
              JSON.stringify({ ok: false, code: "BAD_SIGNATURE", reason: String(err), commandId: null, type: null }),
            ),
          );
          return;
        }
        received.push(envelope);
        const handler = handlers.get(envelope.type);
        if (!handler) {
          msg.respond(
            enc.encode(
              JSON.stringify({
                ok: false,
                code: "NOT_SUPPORTED",
                reason: "no handler",
                commandId: envelope.id,
                type: envelope.type,
              }),
            ),
          );
          return;
        }
        try {
          const result = await handler(envelope);
          msg.respond(enc.encode(JSON.stringify({ ok: true, commandId: envelope.id, type: envelope.type, result })));
        } catch (err) {
          msg.respond(
            enc.encode(
              JSON.stringify({
                ok: false,
                // A handler may throw with a `code` to answer one of a command's own refusal codes.
                code:
                  typeof (err as { code?: unknown }).code === "string"
                    ? (err as { code: string }).code
                    : "HANDLER_FAILED",
                reason: String(err),
                commandId: envelope.id,
                type: envelope.type,
              }),
            ),
          );
        }
      })();
    },
  });
  await nc.flush();
  return {
    clusterId,
    orgId,
    nc,
    js,
    received,
    sealKeys,
    handlers,
    async emit(deploymentId, seq, message, opts = {}) {
      const event: DeploymentEvent = {
        deploymentId,
        seq,
        ts: Date.now(),
        level: opts.level ?? "info",
        message,
        data: opts.data ?? null,
        outcome: opts.outcome ?? null,
      };
      await js.publish(agentSubjects(clusterId).deploymentEvents(deploymentId), enc.encode(JSON.stringify(event)));
    },
    async emitBatch(deploymentId, events) {
      const batch: DeploymentEventBatch = {
        deploymentId,
        events: events.map((e) => ({
          deploymentId,
          seq: e.seq,
          ts: Date.now(),
          level: "info",
          message: e.message,
          data: null,
          outcome: e.outcome ?? null,
        })),
      };
      await js.publish(
        agentSubjects(clusterId).deploymentEvents(deploymentId),
        encodeMessage("DeploymentEventBatch", batch),
      );
    },
    async close() {
      await nc.close();
    },
  };
}
