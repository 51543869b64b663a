/**
 * offline vs link_down vs online as the control plane reports them, against a real NATS hub (the test stack, every
 * service in-process, real Postgres) and a real leaf nats-server configured as the agent ships it (agent/src/leaf.ts:
 * the agent's credentials, TLS, its own JetStream domain and events stream, which the hub sources). The leaf reaches
 * the hub only through the WAN relay (agent/src/testing/wan.ts). This test plays the agent on the leaf's loopback
 * listener, so it can fall silent while its leaf stays up (an agent killed hard), and the relay cuts the link.
 */
import { expect } from "chai";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, credsAuthenticator, type NatsConnection, type Subscription } from "nats";
import { createUser } from "nkeys.js";
import type { Db } from "../_shared/db.js";
import { TEST_AGENT_DOCKER_INFO, createOrgWithAdmin, type TestOrg } from "../_shared/testing/fixtures.js";
import { ContractClient } from "../_shared/testing/http.js";
import { freePort, type TestNatsServer } from "../_shared/testing/nats-server.js";
import { type TestPlatform } from "../_shared/testing/platform.js";
import { startTestStack, stopTestStack } from "../_shared/testing/stack.js";
import { sleep, until } from "../_shared/testing/wait.js";
import { integrationSubjects } from "../../nats/protocol/integration-subjects.js";
import { agentSubjects } from "../../nats/protocol/subjects.js";
import { ensureLeafEventsStream } from "../../agent/src/leaf-stream.js";
import { prepareLeaf, startLeafServer, type LeafServer } from "../../agent/src/leaf.js";
import { createLogger } from "../../agent/src/logger.js";
import { saveState } from "../../agent/src/state.js";
import { startWanLink, type WanLink } from "../../agent/src/testing/wan.js";
import { OFFLINE_SWEEP_MS } from "./clusters.service.js";
import { LEAF_LINK_IDLE_LIMIT_MS } from "./leaf-links.js";

const OFFLINE_AFTER_SECONDS = 5;
const enc = new TextEncoder();
const log = createLogger({ level: "error", write: () => undefined });

describe("link_down: a leaf-mode cluster cut off from the hub (real hub and leaf nats-servers)", function () {
  this.timeout(180_000);
  let db: Db;
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let api: ContractClient;
  let org: TestOrg;
  let wan: WanLink;
  let dir: string;
  let leaf: LeafServer | undefined;
  let local: NatsConnection | undefined;
  let cp: NatsConnection | undefined;
  let events: Subscription | undefined;
  let heartbeats: NodeJS.Timeout | undefined;
  const announced: Array<{ type: string; status: string; previousStatus: string }> = [];

  before(async () => {
    wan = await startWanLink();
    ({ db, nats, platform, api } = await startTestStack(
      { CLUSTER_OFFLINE_AFTER_SECONDS: String(OFFLINE_AFTER_SECONDS) },
      { nats: { leafnodeAdvertise: `127.0.0.1:${wan.port}` } },
    ));
    wan.setTarget("127.0.0.1", Number(new URL(nats.leafUrl.replace(/^tls:/, "http:")).port));
    org = await createOrgWithAdmin(api);
    dir = await mkdtemp(join(tmpdir(), "stackyard-link-status-"));
    cp = await connect({
      servers: nats.url,
      tls: nats.tls,
      authenticator: credsAuthenticator(await readFile(nats.controlPlaneCredsFile)),
    });
  });
  after(async () => {
    clearInterval(heartbeats);
    events?.unsubscribe();
    await local?.close();
    await leaf?.stop();
    await cp?.close();
    await wan?.close();
    await stopTestStack({ db, nats, platform });
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("shows offline when the agent is silent behind a working leaf, link_down when the link is cut, online when it is back", async () => {
    const created = await api.request<{ cluster: { id: string }; registrationToken: string }>(
      "POST",
      `/v1/orgs/${org.orgId}/clusters`,
      { body: { name: "leaf-site" }, headers: org.admin.auth },
    );
    expect(created.status).to.equal(201);
    const user = createUser();
    const reg = await api.request<{
      clusterId: string;
      jwt: string;
      natsCa: string;
      commandSigningPublicKey: string;
      expiresAt: number;
    }>("POST", "/v1/agent/register", {
      body: {
        token: created.body.registrationToken,
        publicKey: user.getPublicKey(),
        hostname: "manager-1",
        agentVersion: "0.1.0",
        docker: TEST_AGENT_DOCKER_INFO,
      },
    });
    expect(reg.status, JSON.stringify(reg.body)).to.equal(200);
    const clusterId = reg.body.clusterId;
    const state = {
      version: 1 as const,
      clusterId,
      orgId: org.orgId,
      publicKey: user.getPublicKey(),
      seed: new TextDecoder().decode(user.getSeed()),
      jwt: reg.body.jwt,
      jwtExpiresAt: reg.body.expiresAt,
      natsUrls: [nats.url],
      natsCa: reg.body.natsCa,
      commandSigningPublicKey: reg.body.commandSigningPublicKey,
      controlPlaneUrl: platform.baseUrl,
      registeredAt: Date.now(),
    };
    await saveState(dir, state);
    const port = await freePort();
    const files = await prepareLeaf(dir, state, { port, hubUrl: `tls://127.0.0.1:${wan.port}` });
    leaf = await startLeafServer({ configFile: files.configFile, port, log });
    local = await connect({ servers: leaf.url });
    await ensureLeafEventsStream(await local.jetstreamManager(), clusterId);

    events = cp!.subscribe(integrationSubjects.clusterStatus(org.orgId, clusterId), {
      callback: (_e, m) => {
        const e = JSON.parse(new TextDecoder().decode(m.data)) as {
          type: string;
          data: { status: string; previousStatus: string };
        };
        announced.push({ type: e.type, status: e.data.status, previousStatus: e.data.previousStatus });
      },
    });
    const subjects = agentSubjects(clusterId);
    const heartbeat = () =>
      local!.publish(
        subjects.heartbeat,
        enc.encode(
          JSON.stringify({
            clusterId,
            agentVersion: "0.1.0",
            hostname: "manager-1",
            sentAt: Date.now(),
            startedAt: Date.now() - 1000,
            uptimeSeconds: 1,
            docker: TEST_AGENT_DOCKER_INFO,
            dockerError: null,
            inventoryHash: null,
            natsMode: "leaf",
          }),
        ),
      );
    const beat = () => {
      heartbeat();
      heartbeats = setInterval(heartbeat, 1_000);
    };
    const silence = () => clearInterval(heartbeats);
    const path = `/v1/orgs/${org.orgId}/clusters/${clusterId}`;
    const status = async () => (await api.get<{ status: string }>(path, org.admin.auth)).body.status;
    const statusIs = (want: string, timeoutMs: number) =>
      until(want, async () => ((await status()) === want ? true : undefined), timeoutMs);
    const stalenessMs = OFFLINE_AFTER_SECONDS * 1000 + 3 * OFFLINE_SWEEP_MS;

    beat();
    await statusIs("online", 30_000);
    // The hub sources the leaf's events stream from the first leaf heartbeat on: its source consumer on the leaf
    // is what keeps a working link busy (leaf-links.ts).
    await until(
      "the leaf's stream sourced",
      async () => {
        const info = await (await cp!.jetstreamManager()).streams.info("STACKYARD_AGENT_EVENTS");
        return info.config.sources?.some((s) => s.external?.api === `$JS.leaf-${clusterId}.API`) ? true : undefined;
      },
      30_000,
    );

    // The agent falls silent, its leaf stays up and linked: the agent itself is down.
    silence();
    const silentAt = Date.now();
    await statusIs("offline", stalenessMs + 10_000);
    // Past the idle limit since the last heartbeat crossed the link: only the source consumer's traffic keeps the
    // link "working" now, and two more sweeps have looked at it.
    await sleep(Math.max(0, silentAt + LEAF_LINK_IDLE_LIMIT_MS + 2 * OFFLINE_SWEEP_MS - Date.now()));
    expect(await status(), "a working leaf link keeps it offline, not link_down").to.equal("offline");

    // The link goes: the hub drops the leaf's connection.
    wan.cut();
    await statusIs("link_down", 3 * OFFLINE_SWEEP_MS + 10_000);
    const cut = (await api.get<{ status: string; lastSeenAt: string | null }>(path, org.admin.auth)).body;
    expect(cut.lastSeenAt, "last seen stays the last heartbeat").to.be.a("string");
    const rows = await db("clusters").where({ id: clusterId }).first("status");
    expect(rows.status).to.equal("link_down");

    // The link returns with the agent still silent: offline again (the leaf answers, the agent does not).
    wan.restore();
    await statusIs("offline", 30_000);

    // The agent runs again, behind a cut link: link_down, then online once the link is back.
    wan.cut();
    await statusIs("link_down", 3 * OFFLINE_SWEEP_MS + 10_000);
    beat();
    wan.restore();
    await statusIs("online", 30_000);

    // A goodbye through the leaf: offline, and a cut afterwards does not make it link_down (it stopped on purpose).
    silence();
    local!.publish(subjects.goodbye, enc.encode(JSON.stringify({ clusterId, sentAt: Date.now(), reason: "stopping" })));
    await statusIs("offline", 10_000);
    wan.cut();
    await sleep(OFFLINE_AFTER_SECONDS * 1000 + 2 * OFFLINE_SWEEP_MS);
    expect(await status(), "stopped on purpose: offline").to.equal("offline");
    wan.restore();

    await sleep(500);
    expect(announced.map((a) => a.status)).to.deep.equal([
      "online",
      "offline",
      "link_down",
      "offline",
      "link_down",
      "online",
      "offline",
    ]);
    expect(announced.find((a) => a.status === "link_down")).to.deep.equal({
      type: "cluster.link_down",
      status: "link_down",
      previousStatus: "offline",
    });
  });
});
