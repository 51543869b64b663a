import { expect } from "chai";
import { connect, credsAuthenticator, type NatsConnection, type Subscription } from "nats";
import { mkdtemp, rm } from "node:fs/promises";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { signCommand, verifyRenewRequest } from "../../nats/protocol/envelope.js";
import {
  decodeCommandReply,
  decodeDeploymentEvents,
  decodeMessage,
  type MessageType,
  type MessageTypes,
} from "../../nats/protocol/messages.js";
import {
  AGENT_EVENTS_STREAM,
  CONTROL_PLANE_SUBSCRIPTIONS,
  agentSubjects,
  execInputSubject,
  commandRequestOptions,
  commandSubject,
  parseAgentSubject,
} from "../../nats/protocol/subjects.js";
import { startTestNatsServer, type TestNatsServer } from "../../services/_shared/testing/nats-server.js";
import { runAgent, type RunningAgent } from "./agent.js";
import type { RunConfig } from "./config.js";
import { DeploymentEventStream } from "./events.js";
import { createLogger } from "./logger.js";
import { loadState, saveState, stateFiles } from "./state.js";
import { createGetStatusHandler } from "./handlers/status.js";
import { FakeEngine, swarmService } from "./testing/fake-engine.js";
import { mintAgentJwt, registeredAgentState, startLeafNode, type LeafNode } from "./testing/nats.js";

const enc = new TextEncoder();
const log = createLogger({ level: "error", write: () => undefined });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Collects decoded messages of one type published on a subject. */
function collect<K extends MessageType>(nc: NatsConnection, subject: string, type: K) {
  const messages: Array<MessageTypes[K]> = [];
  const sub: Subscription = nc.subscribe(subject, { callback: (_e, m) => messages.push(decodeMessage(type, m.data)) });
  return {
    messages,
    sub,
    async next(count = messages.length + 1, timeoutMs = 5_000): Promise<MessageTypes[K]> {
      const deadline = Date.now() + timeoutMs;
      while (messages.length < count) {
        if (Date.now() > deadline) throw new Error(`no ${type} on ${subject} within ${timeoutMs} ms`);
        await sleep(25);
      }
      return messages[count - 1]!;
    },
  };
}

function runConfig(stateDir: string, overrides: Partial<RunConfig> = {}): RunConfig {
  return {
    command: "run",
    stateDir,
    dockerSocket: "/var/run/docker.sock",
    logLevel: "error",
    natsUrls: null,
    natsAuth: "jwt",
    natsMode: "direct",
    leafHubUrl: null,
    leafPort: 14_223,
    heartbeatIntervalMs: 1_000,
    inventoryIntervalMs: 5_000,
    inventoryDebounceMs: 200,
    inventoryResyncMs: 60_000,
    ...overrides,
  };
}

describe("the running agent (real nats-server, fake Docker engine)", function () {
  this.timeout(60_000);
  let server: TestNatsServer;
  let cp: NatsConnection;
  let dir: string;
  const agents: RunningAgent[] = [];
  const leaves: LeafNode[] = [];

  before(async () => {
    server = await startTestNatsServer();
    cp = await connect({
      servers: server.url,
      tls: server.tls,
      authenticator: credsAuthenticator(await readFile(server.controlPlaneCredsFile)),
    });
    const jsm = await cp.jetstreamManager();
    await jsm.streams.add({ name: AGENT_EVENTS_STREAM.name, subjects: [...AGENT_EVENTS_STREAM.subjects] });
  });
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "stackyard-agent-run-"));
  });
  afterEach(async () => {
    await Promise.all(agents.splice(0).map((a) => a.stop()));
    await Promise.all(leaves.splice(0).map((l) => l.stop()));
    await rm(dir, { recursive: true, force: true });
  });
  after(async () => {
    await cp?.close();
    await server?.stop();
  });

  async function start(
    clusterId: string,
    engine: FakeEngine,
    opts: { lifetimeSeconds?: number; config?: Partial<RunConfig> } = {},
  ) {
    const { state, signing } = await registeredAgentState(server.identity, {
      clusterId,
      natsUrl: server.url,
      natsCa: server.caPem,
      ...(opts.lifetimeSeconds !== undefined ? { lifetimeSeconds: opts.lifetimeSeconds } : {}),
    });
    const stateDir = join(dir, clusterId);
    await saveState(stateDir, state);
    const launch = () =>
      runAgent(runConfig(stateDir, opts.config), {
        engine,
        handlers: { GetStatus: createGetStatusHandler(engine) },
        log,
        hostname: "manager-1",
      });
    return { state, signing, stateDir, launch };
  }

  /** Sends a GetStatus command the way the control plane does and returns the decoded reply. */
  const getStatus = async (seed: string, clusterId: string, timeoutMs = 5_000) => {
    const envelope = signCommand(seed, { type: "GetStatus", orgId: "org-1", clusterId, payload: { stackName: "web" } });
    const msg = await cp.request(
      commandSubject(clusterId, "GetStatus"),
      enc.encode(JSON.stringify(envelope)),
      commandRequestOptions(clusterId, envelope.id, timeoutMs),
    );
    return decodeCommandReply(msg.data);
  };

  it("sends heartbeats and the inventory, answers commands and reports Docker changes", async () => {
    const engine = new FakeEngine();
    const subjects = agentSubjects("run-a");
    const heartbeats = collect(cp, subjects.heartbeat, "Heartbeat");
    const inventories = collect(cp, subjects.inventory, "Inventory");
    const dockerEvents = collect(cp, subjects.dockerEvents, "DockerEvent");
    await cp.flush();
    const { signing, launch } = await start("run-a", engine);
    agents.push(await launch());

    const first = await inventories.next(1);
    expect(first.nodes.map((n) => n.hostname)).to.deep.equal(["manager-1"]);
    const heartbeat = await heartbeats.next(1);
    expect(heartbeat).to.deep.include({ clusterId: "run-a", hostname: "manager-1", dockerError: null });
    expect(heartbeat.docker?.swarmState).to.equal("active");
    expect((await heartbeats.next(2)).inventoryHash).to.equal(first.hash);

    expect((await getStatus(signing.seed, "run-a")).ok).to.equal(true);

    engine.services = [swarmService({ runningReplicas: 1 })];
    engine.fire({ type: "service", action: "update", id: "svc-1", attributes: { name: "web_app" } });
    expect(await dockerEvents.next(1)).to.deep.include({
      type: "service",
      action: "update",
      id: "svc-1",
      name: "web_app",
    });
    const changed = await inventories.next(2);
    expect(changed.hash).to.not.equal(first.hash);
    expect(changed.stacks[0]).to.deep.include({ name: "web", converged: false });
    for (const c of [heartbeats, inventories, dockerEvents]) c.sub.unsubscribe();
  });

  it("renews its credentials before they expire and stays connected past the old expiry", async () => {
    const engine = new FakeEngine();
    const { state, stateDir, launch } = await start("run-renew", engine, { lifetimeSeconds: 4 });
    const renewals: string[] = [];
    const responder = cp.subscribe(CONTROL_PLANE_SUBSCRIPTIONS.renew, {
      callback: (_e, m) => {
        void (async () => {
          const clusterId = parseAgentSubject(m.subject)?.clusterId ?? "";
          const request = verifyRenewRequest(JSON.parse(new TextDecoder().decode(m.data)), {
            registeredPublicKey: state.publicKey,
            clusterId,
            now: Date.now(),
          });
          renewals.push(request.clusterId);
          const exp = Math.floor(Date.now() / 1000) + 3_600;
          const jwt = await mintAgentJwt(server.identity, clusterId, request.publicKey, exp);
          m.respond(enc.encode(JSON.stringify({ ok: true, jwt, expiresAt: exp * 1000 })));
        })();
      },
    });
    await cp.flush();
    const agent = await launch();
    agents.push(agent);
    const heartbeats = collect(cp, agentSubjects("run-renew").heartbeat, "Heartbeat");
    await sleep(6_000);
    expect(renewals).to.deep.equal(["run-renew"]);
    expect(agent.state().jwtExpiresAt).to.be.greaterThan(state.jwtExpiresAt + 3_000_000);
    expect((await loadState(stateDir)).jwt).to.equal(agent.state().jwt);
    expect((await readFile(stateFiles(stateDir).creds, "utf8")).includes(agent.state().jwt)).to.equal(true);
    const count = heartbeats.messages.length;
    await heartbeats.next(count + 1, 3_000);
    expect(agent.link.nc.isClosed()).to.equal(false);
    heartbeats.sub.unsubscribe();
    responder.unsubscribe();
  });

  it("works through a customer-side leaf node holding the agent's creds", async () => {
    const engine = new FakeEngine();
    const { signing, stateDir } = await start("run-leaf", engine);
    const leaf = await startLeafNode(server.leafUrl, stateFiles(stateDir).creds, server.caFile);
    leaves.push(leaf);
    const subjects = agentSubjects("run-leaf");
    const heartbeats = collect(cp, subjects.heartbeat, "Heartbeat");
    const inventories = collect(cp, subjects.inventory, "Inventory");
    await cp.flush();
    const agent = await runAgent(runConfig(stateDir, { natsUrls: [leaf.url], natsAuth: "none" }), {
      engine,
      handlers: { GetStatus: createGetStatusHandler(engine) },
      log,
      hostname: "manager-1",
    });
    agents.push(agent);

    expect((await heartbeats.next(1)).clusterId).to.equal("run-leaf");
    expect((await inventories.next(1)).services).to.have.length(1);

    // Interest from the leaf reaches the hub asynchronously.
    let answered = false;
    for (let attempt = 0; attempt < 20 && !answered; attempt++) {
      try {
        expect((await getStatus(signing.seed, "run-leaf", 1_000)).ok).to.equal(true);
        answered = true;
      } catch (err) {
        if (!/503|TIMEOUT|no responders/i.test(String((err as { code?: unknown }).code) + String(err))) throw err;
        await sleep(250);
      }
    }
    expect(answered, "a command from the hub is answered through the leaf").to.equal(true);

    // An exec session's subjects cross the leaf both ways: input from the hub, output to the hub.
    const input: string[] = [];
    const inputSub = agent.link.nc.subscribe(execInputSubject("run-leaf", "s1"), {
      callback: (_err, msg) => input.push(new TextDecoder().decode(msg.data)),
    });
    await agent.link.nc.flush();
    for (let attempt = 0; attempt < 20 && input.length === 0; attempt++) {
      cp.publish(execInputSubject("run-leaf", "s1"), enc.encode('{"type":"ping"}'));
      await cp.flush();
      await sleep(250);
    }
    expect(input[0], "exec input reaches the agent through the leaf").to.equal('{"type":"ping"}');
    inputSub.unsubscribe();
    const output = cp.subscribe(subjects.execOutput("s1"), { max: 1 });
    await cp.flush();
    let delivered: string | null = null;
    const read = (async () => {
      for await (const m of output) delivered = new TextDecoder().decode(m.data);
    })();
    for (let attempt = 0; attempt < 20 && delivered === null; attempt++) {
      agent.link.nc.publish(subjects.execOutput("s1"), enc.encode('{"type":"data","data":"aGk="}'));
      await agent.link.nc.flush();
      await sleep(250);
    }
    await read;
    expect(delivered, "exec output reaches the hub through the leaf").to.equal('{"type":"data","data":"aGk="}');

    const js = agent.link.nc.jetstream();
    const stream = new DeploymentEventStream({
      publish: (subject, data, opts) => js.publish(subject, data, opts),
      clusterId: "run-leaf",
      deploymentId: "leaf-dep",
      firstSeq: 0,
      now: Date.now,
      log,
    });
    await stream.finish("succeeded", { level: "info", message: "deployed through the leaf" });
    expect(stream.dropped).to.equal(0);
    const stored = await (
      await cp.jetstreamManager()
    ).streams.getMessage(AGENT_EVENTS_STREAM.name, {
      last_by_subj: subjects.deploymentEvents("leaf-dep"),
    });
    expect(decodeDeploymentEvents(stored.data).at(-1)!.message).to.equal("deployed through the leaf");

    // Through the leaf the agent is still confined to its cluster's subjects.
    const foreign = collect(cp, agentSubjects("someone-else").heartbeat, "Heartbeat");
    await cp.flush();
    agent.link.nc.publish(agentSubjects("someone-else").heartbeat, enc.encode("{}"));
    await agent.link.nc.flush();
    await sleep(300);
    expect(foreign.messages).to.have.length(0);
    for (const c of [heartbeats, inventories, foreign]) c.sub.unsubscribe();
  });
});
