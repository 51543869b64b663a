import { expect } from "chai";
import { connect, credsAuthenticator, jwtAuthenticator, type Msg, type NatsConnection } from "nats";
import { decode } from "nats-jwt";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createUser } from "nkeys.js";
import { ReplayGuard, createCommandSigningKey, signCommand, signRenewRequest } from "../../nats/protocol/envelope.js";
import {
  decodeCommandReply,
  decodeDeploymentEvents,
  decodeMessage,
  validateMessage,
} from "../../nats/protocol/messages.js";
import {
  AGENT_EVENTS_STREAM,
  AGENT_USER_LIMITS,
  agentSubjects,
  commandRequestOptions,
  commandSubject,
  type CommandType,
} from "../../nats/protocol/subjects.js";
import { ensureNatsTls } from "../../nats/tls.js";
import { startTestNatsServer, type TestNatsServer } from "../../services/_shared/testing/nats-server.js";
import { serveCommands, type CommandServer } from "./commands.js";
import { AgentError } from "./errors.js";
import { DeploymentEventStream } from "./events.js";
import { openLink, type AgentLink } from "./link.js";
import { createLogger } from "./logger.js";
import { createGetStatusHandler } from "./handlers/status.js";
import { FakeEngine } from "./testing/fake-engine.js";
import { registeredAgentState } from "./testing/nats.js";

const A = "cluster-a";
const B = "cluster-b";
const enc = new TextEncoder();
const log = createLogger({ level: "error", write: () => undefined });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function watchViolations(nc: NatsConnection): string[] {
  const seen: string[] = [];
  void (async () => {
    for await (const status of nc.status()) if (status.type === "error") seen.push(String(status.data));
  })();
  return seen;
}

describe("agent link and permissions (real nats-server, operator mode)", function () {
  this.timeout(30_000);
  let server: TestNatsServer;
  let cp: NatsConnection;
  let link: AgentLink;
  let violations: string[];
  let commands: CommandServer;
  const signing = createCommandSigningKey();

  const command = <T extends CommandType>(
    type: T,
    payload: Parameters<typeof signCommand<T>>[1]["payload"],
    clusterId = A,
  ) => enc.encode(JSON.stringify(signCommand(signing.seed, { type, orgId: "org-1", clusterId, payload })));

  before(async () => {
    server = await startTestNatsServer();
    cp = await connect({
      servers: server.url,
      tls: server.tls,
      authenticator: credsAuthenticator(await readFile(server.controlPlaneCredsFile)),
    });
    const jsm = await cp.jetstreamManager();
    await jsm.streams.add({ name: AGENT_EVENTS_STREAM.name, subjects: [...AGENT_EVENTS_STREAM.subjects] });
    const { state } = await registeredAgentState(server.identity, {
      clusterId: A,
      natsUrl: server.url,
      natsCa: server.caPem,
      signing,
    });
    link = await openLink({
      servers: state.natsUrls,
      ca: state.natsCa ?? null,
      clusterId: A,
      auth: { jwt: () => state.jwt, seed: enc.encode(state.seed) },
      log,
    });
    violations = watchViolations(link.nc);
    commands = serveCommands(link.nc, {
      clusterId: A,
      commandSigningPublicKey: signing.publicKey,
      replayGuard: new ReplayGuard(),
      handlers: { GetStatus: createGetStatusHandler(new FakeEngine()) },
      now: Date.now,
      log,
      signal: new AbortController().signal,
    });
    await link.nc.flush();
  });

  after(async () => {
    commands?.subscription.unsubscribe();
    await link?.close();
    await cp?.close();
    await server?.stop();
  });

  it("receives a signed command on cmd.<A>.* and answers on agent.<A>.reply.<commandId>", async () => {
    const envelope = signCommand(signing.seed, {
      type: "GetStatus",
      orgId: "org-1",
      clusterId: A,
      payload: { stackName: "web" },
    });
    const msg = await cp.request(
      commandSubject(A, "GetStatus"),
      enc.encode(JSON.stringify(envelope)),
      commandRequestOptions(A, envelope.id, 5_000),
    );
    const reply = decodeCommandReply(msg.data);
    expect(reply).to.deep.include({ ok: true, commandId: envelope.id });
    expect(validateMessage("GetStatusResult", reply.ok ? reply.result : null).exists).to.equal(true);
  });

  it("may not answer on the control plane's own inbox: replies go through the agent's subjects", async () => {
    let error: unknown;
    try {
      await cp.request(commandSubject(A, "GetStatus"), command("GetStatus", { stackName: "web" }), { timeout: 1_000 });
    } catch (err) {
      error = err;
    }
    expect(String(error)).to.match(/TIMEOUT/);
  });

  it("refuses a forged command, replies why and reports it on agent.<A>.rejected", async () => {
    const reports: string[] = [];
    const sub = cp.subscribe(agentSubjects(A).rejected, {
      callback: (_e, m) => reports.push(decodeMessage("CommandRejectionReport", m.data).code),
    });
    await cp.flush();
    const forger = createCommandSigningKey();
    const forged = signCommand(forger.seed, {
      type: "GetStatus",
      orgId: "org-1",
      clusterId: A,
      payload: { stackName: "web" },
    });
    const msg = await cp.request(
      commandSubject(A, "GetStatus"),
      enc.encode(JSON.stringify(forged)),
      commandRequestOptions(A, forged.id, 5_000),
    );
    expect(decodeCommandReply(msg.data)).to.deep.include({ ok: false, code: "BAD_SIGNATURE" });
    await sleep(200);
    sub.unsubscribe();
    expect(reports).to.deep.equal(["BAD_SIGNATURE"]);
  });

  it("cannot subscribe to another cluster's commands, another inbox or the JetStream API", async () => {
    const received: string[] = [];
    for (const subject of [`cmd.${B}.>`, "_INBOX.>", `_INBOX_${B}.>`, "$JS.API.>"]) {
      let error: unknown;
      link.nc.subscribe(subject, {
        callback: (err, m) => (err ? (error = err) : received.push(m.subject)),
      });
      await link.nc.flush();
      await sleep(150);
      expect(String(error), subject).to.match(/Permissions Violation for Subscription/);
    }
    cp.publish(commandSubject(B, "GetStatus"), command("GetStatus", { stackName: "web" }, B));
    cp.publish("_INBOX.x", enc.encode("{}"));
    await cp.flush();
    await sleep(200);
    expect(received).to.deep.equal([]);
  });

  it("cannot publish as another cluster: the server drops it and says so", async () => {
    const received: string[] = [];
    const sub = cp.subscribe("agent.>", { callback: (_e, m) => received.push(m.subject) });
    await cp.flush();
    const before = violations.length;
    link.nc.publish(agentSubjects(A).heartbeat, enc.encode("{}"));
    link.nc.publish(agentSubjects(B).heartbeat, enc.encode("{}"));
    link.nc.publish(`cmd.${A}.GetStatus`, enc.encode("{}"));
    await link.nc.flush();
    await sleep(300);
    sub.unsubscribe();
    expect(received).to.deep.equal([agentSubjects(A).heartbeat]);
    expect(violations.slice(before)).to.include("PERMISSIONS_VIOLATION");
  });

  it("makes requests through its own inbox prefix, e.g. renewal", async () => {
    let replyTo = "";
    const sub = cp.subscribe(agentSubjects(A).renew, {
      callback: (_e, m: Msg) => {
        replyTo = m.reply ?? "";
        m.respond(enc.encode(JSON.stringify({ ok: false, code: "TEST", reason: "seen" })));
      },
    });
    await cp.flush();
    const seed = new TextDecoder().decode(createUser().getSeed());
    const request = signRenewRequest(seed, { clusterId: A, requestedAt: Date.now() });
    const reply = await link.nc.request(agentSubjects(A).renew, enc.encode(JSON.stringify(request)), {
      timeout: 5_000,
    });
    sub.unsubscribe();
    expect(replyTo.startsWith(`_INBOX_${A}.`)).to.equal(true);
    expect(validateMessage("ErrorReply", JSON.parse(new TextDecoder().decode(reply.data)))).to.deep.include({
      code: "TEST",
    });
  });

  it("publishes deployment events into JetStream with acks, without the JetStream API", async () => {
    const js = link.nc.jetstream();
    const stream = new DeploymentEventStream({
      publish: (subject, data, opts) => js.publish(subject, data, opts),
      clusterId: A,
      deploymentId: "dep-1",
      firstSeq: 0,
      now: Date.now,
      log,
    });
    stream.emit({ level: "info", message: "Creating network web_default" });
    await stream.flushed();
    // Emitted together: one DeploymentEventBatch message.
    stream.emit({ level: "info", message: "Creating service web_app" });
    await stream.finish("succeeded", { level: "info", message: "done" });
    expect(stream.dropped).to.equal(0);
    const jsm = await cp.jetstreamManager();
    const info = await jsm.streams.info(AGENT_EVENTS_STREAM.name);
    expect(info.state.messages).to.equal(2);
    const last = await jsm.streams.getMessage(AGENT_EVENTS_STREAM.name, { seq: info.state.last_seq });
    expect(decodeDeploymentEvents(last.data).map((e) => [e.seq, e.outcome])).to.deep.equal([
      [1, null],
      [2, "succeeded"],
    ]);
  });

  it("refuses the JWT with any seed but the agent's own", async () => {
    const { state } = await registeredAgentState(server.identity, {
      clusterId: A,
      natsUrl: server.url,
      natsCa: server.caPem,
    });
    const thief = new TextDecoder().decode(createUser().getSeed());
    let error: unknown;
    try {
      const stolen = await openLink({
        servers: state.natsUrls,
        ca: state.natsCa ?? null,
        clusterId: A,
        auth: { jwt: () => state.jwt, seed: enc.encode(thief) },
        log,
      });
      await stolen.close();
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(AgentError);
    expect((error as AgentError).code).to.equal("CREDENTIALS_REJECTED");
  });

  it("verifies the server with the pinned CA only: a server whose certificate another CA signed is refused", async () => {
    const { state } = await registeredAgentState(server.identity, { clusterId: A, natsUrl: server.url });
    const otherDir = await mkdtemp(join(tmpdir(), "stackyard-other-ca-"));
    try {
      const otherCa = await readFile((await ensureNatsTls(otherDir)).caFile, "utf8");
      let error: unknown;
      try {
        const link = await openLink({
          servers: state.natsUrls,
          ca: otherCa,
          clusterId: A,
          auth: { jwt: () => state.jwt, seed: enc.encode(state.seed) },
          log,
        });
        await link.close();
      } catch (err) {
        error = err;
      }
      expect(error).to.be.instanceOf(AgentError);
      expect((error as AgentError).code).to.equal("NATS_TLS_FAILED");
      expect((error as AgentError).message).to.match(/pinned at registration/);
      // The same credentials with the server's own CA connect.
      const good = await openLink({
        servers: state.natsUrls,
        ca: server.caPem,
        clusterId: A,
        auth: { jwt: () => state.jwt, seed: enc.encode(state.seed) },
        log,
      });
      await good.close();
    } finally {
      await rm(otherDir, { recursive: true, force: true });
    }
  });

  it("carries explicit per-agent limits the server enforces: subscriptions and payload", async () => {
    const { state } = await registeredAgentState(server.identity, {
      clusterId: A,
      natsUrl: server.url,
      natsCa: server.caPem,
    });
    const claims = decode<{ subs: number; payload: number; data: number }>(state.jwt).nats;
    expect({ subs: claims.subs, payload: claims.payload, data: claims.data }).to.deep.equal(AGENT_USER_LIMITS);
    const nc = await connect({
      servers: server.url,
      tls: server.tls,
      authenticator: jwtAuthenticator(state.jwt, enc.encode(state.seed)),
      inboxPrefix: `_INBOX_${A}`,
    });
    try {
      expect(nc.info?.max_payload).to.equal(AGENT_USER_LIMITS.payload);
      const errors = watchViolations(nc);
      for (let i = 0; i <= AGENT_USER_LIMITS.subs; i++) nc.subscribe(`cmd.${A}.limit${i}`);
      await nc.flush().catch(() => undefined);
      await sleep(300);
      expect(errors.join(), "the subscription past the limit is refused").to.match(/PROTOCOL|subscriptions/i);
    } finally {
      await nc.close().catch(() => undefined);
    }
  });
});
