/**
 * Leaf mode against real nats-servers: the agent starts and supervises its own leaf (the shipped code, not the test
 * helper), its forwarder takes the leaf's buffered events to the hub, and a WAN cut between them loses nothing.
 * Twice: with a credential of the org's own account (the leaf joins it; only the forwarder delivers), and with one
 * of the shared account issued before org accounts (the hub also sources the leaf's stream; it keeps one copy).
 */
import { expect } from "chai";
import { AckPolicy, DeliverPolicy, connect, credsAuthenticator, type NatsConnection } from "nats";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeDeploymentEvents, decodeMessage } from "../../nats/protocol/messages.js";
import { AGENT_EVENTS_STREAM, agentSubjects } from "../../nats/protocol/subjects.js";
import { ensureDeploymentStreams } from "../../services/deployments/jetstream.js";
import { ensureLeafEventsSource } from "../../services/deployments/leaf-sources.js";
import { startTestNatsServer, type TestNatsServer } from "../../services/_shared/testing/nats-server.js";
import { runAgent, type AgentServices, type RunningAgent } from "./agent.js";
import type { RunConfig } from "./config.js";
import { DeploymentEventStream } from "./events.js";
import { freePort } from "../../services/_shared/testing/nats-server.js";
import { leafFiles } from "./leaf.js";
import { createLogger } from "./logger.js";
import { saveState } from "./state.js";
import { FakeEngine } from "./testing/fake-engine.js";
import { pushTestOrgAccount, registeredAgentState } from "./testing/nats.js";
import { startWanLink, type WanLink } from "./testing/wan.js";

const log = createLogger({ level: "error", write: () => undefined });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(200);
  }
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("leaf mode (real hub and leaf nats-servers)", function () {
  this.timeout(120_000);
  let server: TestNatsServer;
  let cp: NatsConnection;
  let sys: NatsConnection;
  let wan: WanLink;
  let dir: string;
  let agent: RunningAgent | undefined;

  before(async () => {
    // The leaf must not learn a way round the WAN: the hub advertises the relay, not its own listener.
    wan = await startWanLink();
    server = await startTestNatsServer({ leafnodeAdvertise: `127.0.0.1:${wan.port}` });
    cp = await connect({
      servers: server.url,
      tls: server.tls,
      authenticator: credsAuthenticator(await readFile(server.controlPlaneCredsFile)),
    });
    sys = await connect({
      servers: server.url,
      tls: server.tls,
      authenticator: credsAuthenticator(await readFile(server.systemCredsFile)),
    });
    await ensureDeploymentStreams(await cp.jetstreamManager());
    const leafPort = Number(new URL(server.leafUrl.replace("tls:", "http:")).port);
    wan.setTarget("127.0.0.1", leafPort);
    dir = await mkdtemp(join(tmpdir(), "stackyard-leaf-mode-"));
  });
  after(async () => {
    await agent?.stop();
    await wan?.close();
    await cp?.close();
    await sys?.close();
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /**
   * Every deployment event the hub's stream holds for one deployment, in stream order: forwarded
   * (`agent-events.<c>.<d>`) or sourced from the leaf (`agent-local.<c>.<d>`, which no filter of the stream's own
   * subjects covers, so the stream is read whole).
   */
  async function hubEvents(clusterId: string, deploymentId: string): Promise<number[]> {
    const js = cp.jetstream();
    const jsm = await cp.jetstreamManager();
    const consumer = await jsm.consumers.add(AGENT_EVENTS_STREAM.name, {
      ack_policy: AckPolicy.None,
      deliver_policy: DeliverPolicy.All,
      inactive_threshold: 5_000_000_000,
    });
    const pending = consumer.num_pending;
    if (pending === 0) return [];
    const seqs: number[] = [];
    const c = await js.consumers.get(AGENT_EVENTS_STREAM.name, consumer.name);
    const messages = await c.fetch({ max_messages: pending, expires: 5_000 });
    let seen = 0;
    for await (const m of messages) {
      if (m.subject.endsWith(`.${clusterId}.${deploymentId}`))
        seqs.push(...decodeDeploymentEvents(m.data).map((e) => e.seq));
      if (++seen >= pending) break;
    }
    return seqs;
  }

  for (const variant of [
    { clusterId: "leaf-org1", orgAccount: true, label: "in its org's own account" },
    { clusterId: "leaf-c1", orgAccount: false, label: "with a shared-account credential from before org accounts" },
  ])
    it(`supervises its own leaf, buffers events through a WAN cut and delivers them once, in order (${variant.label})`, async () => {
      const { clusterId, orgAccount } = variant;
      // Message ids are `<deploymentId>-<seq>`: each variant its own deployment, as each real one is unique.
      const deploymentId = `dep-${clusterId}`;
      const subjects = agentSubjects(clusterId);
      const orgId = "org-leaf";
      if (orgAccount) await pushTestOrgAccount(sys, server.identity, orgId, [clusterId]);
      const { state } = await registeredAgentState(server.identity, {
        clusterId,
        natsUrl: server.url,
        natsCa: server.caPem,
        orgAccount,
        orgId,
      });
      const stateDir = join(dir, clusterId);
      await saveState(stateDir, state);
      const config: RunConfig = {
        command: "run",
        stateDir,
        dockerSocket: "/var/run/docker.sock",
        logLevel: "error",
        natsUrls: null,
        natsAuth: "none",
        natsMode: "leaf",
        leafHubUrl: `tls://127.0.0.1:${wan.port}`,
        leafPort: await freePort(),
        heartbeatIntervalMs: 1_000,
        inventoryIntervalMs: 5_000,
        inventoryDebounceMs: 200,
        inventoryResyncMs: 60_000,
      };
      let services: AgentServices | undefined;
      const heartbeats: string[] = [];
      const hbSub = cp.subscribe(subjects.heartbeat, {
        callback: (_e, m) => heartbeats.push(String(decodeMessage("Heartbeat", m.data).natsMode)),
      });
      agent = await runAgent(config, {
        engine: new FakeEngine(),
        handlers: (s) => {
          services = s;
          return { handlers: {}, drain: async () => undefined };
        },
        log,
        hostname: "manager-1",
      });
      expect(agent.leaf).to.not.equal(null);
      expect(agent.link.nc.getServer()).to.equal(`127.0.0.1:${config.leafPort}`);
      await until("a heartbeat through the leaf", async () => (heartbeats.length > 0 ? true : undefined), 30_000);
      expect(heartbeats[0]).to.equal("leaf");
      if (!orgAccount) {
        const jsm = await cp.jetstreamManager();
        expect(await ensureLeafEventsSource(jsm, clusterId)).to.equal("added");
        expect(await ensureLeafEventsSource(jsm, clusterId), "idempotent").to.equal("present");
        // A control-plane restart re-applies the stream's config: the leaf sources stay.
        await ensureDeploymentStreams(jsm);
        const sources = (await jsm.streams.info(AGENT_EVENTS_STREAM.name)).config.sources ?? [];
        expect(sources.map((x) => x.external?.api)).to.include(`$JS.leaf-${clusterId}.API`);
      }

      const stream = new DeploymentEventStream({
        publish: services!.publish,
        clusterId,
        deploymentId,
        firstSeq: 1,
        now: Date.now,
        log,
      });
      for (let i = 0; i < 5; i++) stream.emit({ level: "info", message: `before ${i}` });
      await until(
        "the first events on the hub",
        async () => {
          const got = await hubEvents(clusterId, deploymentId);
          return got.length === 5 ? true : undefined;
        },
        30_000,
      );

      wan.cut();
      for (let i = 0; i < 10; i++) stream.emit({ level: "info", message: `during ${i}` });
      await sleep(3_000);
      expect(stream.dropped, "the leaf acknowledged every event during the cut").to.equal(0);
      expect(await hubEvents(clusterId, deploymentId), "nothing crosses a cut link").to.have.length(5);
      wan.restore();

      await stream.finish("succeeded", { level: "info", message: "done" });
      const seqs = await until(
        "every event on the hub",
        async () => {
          const s = await hubEvents(clusterId, deploymentId);
          return s.length >= 16 ? s : undefined;
        },
        60_000,
      );
      await sleep(1_000);
      expect(await hubEvents(clusterId, deploymentId), "once each, in order").to.deep.equal(
        Array.from({ length: 16 }, (_, i) => i + 1),
      );
      expect(seqs).to.have.length(16);

      // The supervisor restarts a leaf that dies, and the agent reconnects through it.
      const firstPid = agent.leaf!.pid()!;
      process.kill(firstPid, "SIGKILL");
      await until("a restarted leaf", async () => (agent!.leaf!.restarts() > 0 ? true : undefined), 30_000);
      const count = heartbeats.length;
      await until(
        "heartbeats after the restart",
        async () => (heartbeats.length > count + 1 ? true : undefined),
        60_000,
      );

      const pid = agent.leaf!.pid()!;
      expect(pid).to.not.equal(firstPid);
      await agent.stop();
      expect(isAlive(pid), "no orphan leaf after the agent stops").to.equal(false);
      agent = undefined;
      hbSub.unsubscribe();
      expect(leafFiles(stateDir).configFile.startsWith(stateDir)).to.equal(true);
    });
});
