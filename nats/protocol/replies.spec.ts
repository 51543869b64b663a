/**
 * Each side's real replies, read with the other side's real decoder: the control plane's answers to a credential
 * renewal through the agent's reader, the agent's answers to a command through the control plane's reader.
 */
import { expect } from "chai";
import { createUser } from "nkeys.js";
import { processCommand, type CommandProcessorOptions } from "../../agent/src/commands.js";
import { createLogger } from "../../agent/src/logger.js";
import { parseRenewReply } from "../../agent/src/renew.js";
import { createGetStatusHandler } from "../../agent/src/handlers/status.js";
import { FakeEngine } from "../../agent/src/testing/fake-engine.js";
import { AgentRejectedError, readAgentReply } from "../../services/_shared/agent-commands.js";
import { UnauthorizedError } from "../../services/_shared/errors.js";
import { answerRenewal, type RenewalDeps } from "../../services/clusters/renewal.js";
import { ReplayGuard, createCommandSigningKey, signCommand, signRenewRequest } from "./envelope.js";
import { encodeCommandReply, encodeRenewReply, type CommandPayloads } from "./messages.js";
import { agentSubjects, commandSubject } from "./subjects.js";

const CLUSTER = "7f0f6a52-4a8e-4d1c-9d7e-6c1f5a0b2c3d";
const NOW = 1_700_000_000_000;
const JWT = "eyJhIjoxfQ.eyJzdWIiOiJVIn0.c2ln";
const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

describe("bus replies decode on the other side", () => {
  describe("credential renewal: control plane → agent", () => {
    const agent = createUser();
    const seed = new TextDecoder().decode(agent.getSeed());
    const request = enc(signRenewRequest(seed, { clusterId: CLUSTER, requestedAt: NOW }));
    const deps = (overrides: Partial<RenewalDeps> = {}): RenewalDeps => ({
      registeredAgentKey: async () => agent.getPublicKey(),
      renew: async () => ({ jwt: JWT, expiresAt: new Date(NOW + 3_600_000) }),
      now: () => NOW,
      ...overrides,
    });
    const agentReads = async (subject: string, deps: RenewalDeps) =>
      parseRenewReply(encodeRenewReply(await answerRenewal(subject, request, deps)));
    const refusalOf = async (subject: string, deps: RenewalDeps): Promise<string> => {
      try {
        await agentReads(subject, deps);
      } catch (err) {
        return (err as Error).message;
      }
      throw new Error("the agent accepted a refusal");
    };

    it("a renewed credential reaches the agent", async () => {
      const renewed = await agentReads(agentSubjects(CLUSTER).renew, deps());
      expect(renewed).to.deep.equal({ ok: true, jwt: JWT, expiresAt: NOW + 3_600_000 });
    });

    it("the agent reads the code of every refusal", async () => {
      expect(await refusalOf("agent.not-a-cluster.renew", deps())).to.match(/refused to renew: WRONG_CLUSTER: /);
      expect(await refusalOf(agentSubjects(CLUSTER).renew, deps({ registeredAgentKey: async () => null }))).to.match(
        /refused to renew: CREDENTIAL_REVOKED: no agent is registered/,
      );
      const otherKey = createUser().getPublicKey();
      expect(
        await refusalOf(agentSubjects(CLUSTER).renew, deps({ registeredAgentKey: async () => otherKey })),
      ).to.match(/refused to renew: BAD_SIGNATURE: /);
      const revoked = deps({
        renew: async () => {
          throw new UnauthorizedError("CREDENTIAL_REVOKED", "this agent's credentials are revoked or expired");
        },
      });
      expect(await refusalOf(agentSubjects(CLUSTER).renew, revoked)).to.match(
        /refused to renew: CREDENTIAL_REVOKED: this agent's credentials are revoked/,
      );
      const crashed = deps({
        renew: async () => {
          throw new Error("connection terminated");
        },
      });
      expect(await refusalOf(agentSubjects(CLUSTER).renew, crashed)).to.match(/refused to renew: REJECTED: /);
    });
  });

  describe("commands: agent → control plane", () => {
    const cp = createCommandSigningKey();
    const options: CommandProcessorOptions = {
      clusterId: CLUSTER,
      commandSigningPublicKey: cp.publicKey,
      replayGuard: new ReplayGuard(),
      handlers: { GetStatus: createGetStatusHandler(new FakeEngine()) },
      now: () => NOW + 100,
      log: createLogger({ level: "error", write: () => undefined }),
      signal: new AbortController().signal,
    };
    const command = <T extends "GetStatus" | "ScaleService">(type: T, payload: CommandPayloads[T]) =>
      signCommand(cp.seed, { type, orgId: "o1", clusterId: CLUSTER, payload, issuedAt: NOW });
    const agentAnswers = async (subject: string, envelope: unknown) =>
      encodeCommandReply((await processCommand(subject, enc(envelope), options)).reply);

    it("a result reaches the control plane typed", async () => {
      const data = await agentAnswers(commandSubject(CLUSTER, "GetStatus"), command("GetStatus", { stackName: "web" }));
      expect(readAgentReply("GetStatus", data).services[0]!.name).to.equal("web_app");
    });

    it("the control plane reads the code of every refusal", async () => {
      const agentCodeOf = async (subject: string, envelope: unknown): Promise<string> => {
        try {
          readAgentReply("GetStatus", await agentAnswers(subject, envelope));
        } catch (err) {
          expect(err).to.be.instanceOf(AgentRejectedError);
          return (err as AgentRejectedError).agentCode;
        }
        throw new Error("the control plane accepted a refusal");
      };
      const scale = command("ScaleService", { stackName: "web", service: "app", replicas: 2 });
      expect(await agentCodeOf(commandSubject(CLUSTER, "ScaleService"), scale)).to.equal("NOT_SUPPORTED");
      const forged = { ...command("GetStatus", { stackName: "web" }), payload: { stackName: "other" } };
      expect(await agentCodeOf(commandSubject(CLUSTER, "GetStatus"), forged)).to.equal("BAD_SIGNATURE");
      const misrouted = command("GetStatus", { stackName: "web" });
      expect(await agentCodeOf(commandSubject(CLUSTER, "ScaleService"), misrouted)).to.equal("MALFORMED_MESSAGE");
    });
  });
});
