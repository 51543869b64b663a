import { expect } from "chai";
import { createHash } from "node:crypto";
import { connect, jwtAuthenticator, type NatsConnection } from "nats";
import { createUser } from "nkeys.js";
import type { Db } from "../_shared/db.js";
import {
  TEST_AGENT_DOCKER_INFO,
  createOrgWithAdmin,
  createUserWithRole,
  type TestOrg,
} from "../_shared/testing/fixtures.js";
import { ContractClient } from "../_shared/testing/http.js";
import { type TestNatsServer } from "../_shared/testing/nats-server.js";
import { type TestPlatform } from "../_shared/testing/platform.js";
import { signRenewRequest } from "../../nats/protocol/envelope.js";
import { createSealKeyPair } from "../../nats/protocol/sealing.js";
import { agentSealPublicKey } from "./clusters.logic.js";
import { agentInboxPrefix, agentSubjects } from "../../nats/protocol/subjects.js";
import { sleep, until } from "../_shared/testing/wait.js";
import { startTestStack, stopTestStack } from "../_shared/testing/stack.js";

const enc = new TextEncoder();
const docker = TEST_AGENT_DOCKER_INFO;

interface Registered {
  clusterId: string;
  orgId: string;
  jwt: string;
  natsUrls: string[];
  natsCa?: string;
  commandSigningPublicKey: string;
  expiresAt: number;
}

describe("clusters and agent credentials (real gateway, Postgres, NATS in operator mode)", function () {
  this.timeout(60_000);
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let db: Db;
  let api: ContractClient;
  let org: TestOrg;

  before(async () => {
    ({ db, nats, platform, api } = await startTestStack({ CLUSTER_OFFLINE_AFTER_SECONDS: "5" }));
    org = await createOrgWithAdmin(api);
  });
  after(async () => {
    await stopTestStack({ db, nats, platform });
  });

  async function createCluster(name: string) {
    const res = await api.request<{
      cluster: { id: string; status: string };
      registrationToken: string;
      agentInstall: { fromSource: { command: string }; docker: { command: string } };
    }>("POST", `/v1/orgs/${org.orgId}/clusters`, { body: { name }, headers: org.admin.auth });
    expect(res.status).to.equal(201);
    return res.body;
  }

  async function register(token: string, seedUser = createUser(), sealPublicKey?: string) {
    const res = await api.request<Registered & { error?: { code: string } }>("POST", "/v1/agent/register", {
      body: {
        token,
        publicKey: seedUser.getPublicKey(),
        ...(sealPublicKey ? { sealPublicKey } : {}),
        hostname: "manager-1",
        agentVersion: "0.1.0",
        docker,
      },
    });
    return { res, user: seedUser };
  }

  async function connectAgent(reg: Registered, user: ReturnType<typeof createUser>): Promise<NatsConnection> {
    return connect({
      servers: nats.url,
      tls: nats.tls,
      authenticator: jwtAuthenticator(reg.jwt, user.getSeed()),
      inboxPrefix: agentInboxPrefix(reg.clusterId),
      reconnect: false,
    });
  }

  it("creates a cluster with a one-time registration token stored only as a hash", async () => {
    const created = await createCluster("prod-eu");
    expect(created.cluster.status).to.equal("pending");
    // The token is exported into the agent's environment, never an argument of a command.
    for (const method of [created.agentInstall.fromSource, created.agentInstall.docker]) {
      expect(method.command).to.include(`export STACKYARD_AGENT_TOKEN=${created.registrationToken}`);
      expect(method.command).not.to.include("--token");
    }
    const [row] = await db("cluster_registration_tokens").where({ cluster_id: created.cluster.id });
    expect(row.token_hash).to.equal(createHash("sha256").update(created.registrationToken).digest("hex"));
    const dup = await api.request("POST", `/v1/orgs/${org.orgId}/clusters`, {
      body: { name: "prod-eu" },
      headers: org.admin.auth,
    });
    expect(dup.status).to.equal(409);
  });

  it("lets a VIEWER read clusters but not create them", async () => {
    const viewer = await createUserWithRole(api, org, "VIEWER");
    expect((await api.get(`/v1/orgs/${org.orgId}/clusters`, viewer.auth)).status).to.equal(200);
    const res = await api.request("POST", `/v1/orgs/${org.orgId}/clusters`, {
      body: { name: "nope" },
      headers: viewer.auth,
    });
    expect(res.status).to.equal(403);
  });

  it("registers an agent once; the token cannot be used again", async () => {
    const created = await createCluster("once");
    const first = await register(created.registrationToken);
    expect(first.res.status).to.equal(200);
    expect(first.res.body.clusterId).to.equal(created.cluster.id);
    expect(first.res.body.natsUrls).to.deep.equal([nats.url]);
    // The CA the agent pins: the one that signed this server's certificate.
    expect(first.res.body.natsCa).to.equal(nats.caPem);
    const second = await register(created.registrationToken);
    expect(second.res.status).to.equal(401);
    expect(second.res.body.error?.code).to.equal("REGISTRATION_TOKEN_INVALID");
    const audit = await db("audit_events").where({ action: "cluster.agent_registered", target_id: created.cluster.id });
    expect(audit).to.have.length(1);
    expect(audit[0].actor_type).to.equal("agent");
  });

  it("refuses an expired registration token", async () => {
    const created = await createCluster("expired");
    await db("cluster_registration_tokens")
      .where({ cluster_id: created.cluster.id })
      .update({
        created_at: new Date(Date.now() - 7200_000),
        expires_at: new Date(Date.now() - 1000),
      });
    const { res } = await register(created.registrationToken);
    expect(res.status).to.equal(401);
  });

  it("turns online on heartbeats, lists reported nodes, and goes offline when they stop", async () => {
    const created = await createCluster("live");
    const { res, user } = await register(created.registrationToken);
    const agent = await connectAgent(res.body, user);
    const subjects = agentSubjects(res.body.clusterId);
    const heartbeat = () =>
      agent.publish(
        subjects.heartbeat,
        enc.encode(
          JSON.stringify({
            clusterId: res.body.clusterId,
            agentVersion: "0.1.0",
            hostname: "manager-1",
            sentAt: Date.now(),
            startedAt: Date.now() - 1000,
            uptimeSeconds: 1,
            docker,
            dockerError: null,
            inventoryHash: null,
          }),
        ),
      );
    heartbeat();
    const inventory = {
      clusterId: res.body.clusterId,
      collectedAt: Date.now(),
      hash: "a".repeat(64),
      nodes: [
        {
          id: "node-1",
          hostname: "manager-1",
          role: "manager",
          availability: "active",
          status: "ready",
          labels: { zone: "a" },
          nanoCpus: 2e9,
          memoryBytes: 8e9,
          engineVersion: "20.10.24",
          address: "10.0.0.1",
        },
        {
          id: "node-2",
          hostname: "worker-1",
          role: "worker",
          availability: "active",
          status: "ready",
          labels: {},
          nanoCpus: 2e9,
          memoryBytes: 8e9,
          engineVersion: "20.10.24",
          address: "10.0.0.2",
        },
      ],
      services: [],
      stacks: [],
    };
    agent.publish(subjects.inventory, enc.encode(JSON.stringify(inventory)));
    await agent.flush();

    const path = `/v1/orgs/${org.orgId}/clusters/${res.body.clusterId}`;
    await until("online", async () =>
      (await api.get<{ status: string }>(path, org.admin.auth)).body.status === "online" ? true : undefined,
    );
    const nodes = await until("nodes", async () => {
      const r = await api.get<{ items: Array<{ nodeId: string; labels: Record<string, string> }> }>(
        `${path}/nodes`,
        org.admin.auth,
      );
      return r.body.items.length === 2 ? r.body.items : undefined;
    });
    expect(nodes.map((n) => n.nodeId).sort()).to.deep.equal(["node-1", "node-2"]);
    expect((await api.get<{ unhealthyNodes: string[] }>(path, org.admin.auth)).body.unhealthyNodes).to.deep.equal([]);

    // worker-1 goes down: degraded at once (no heartbeat needed), naming it; stays degraded across heartbeats
    const [manager, worker] = inventory.nodes;
    agent.publish(
      subjects.inventory,
      enc.encode(
        JSON.stringify({ ...inventory, hash: "c".repeat(64), nodes: [manager, { ...worker, status: "down" }] }),
      ),
    );
    await agent.flush();
    const degraded = await until("degraded", async () => {
      const r = await api.get<{ status: string; unhealthyNodes: string[] }>(path, org.admin.auth);
      return r.body.status === "degraded" ? r.body : undefined;
    });
    expect(degraded.unhealthyNodes).to.deep.equal(["worker-1"]);
    heartbeat();
    await agent.flush();
    await sleep(1_500); // one heartbeat flush
    expect((await api.get<{ status: string }>(path, org.admin.auth)).body.status).to.equal("degraded");
    // back: online again, nobody named
    agent.publish(subjects.inventory, enc.encode(JSON.stringify({ ...inventory, hash: "d".repeat(64) })));
    await agent.flush();
    const back = await until("online again", async () => {
      const r = await api.get<{ status: string; unhealthyNodes: string[] }>(path, org.admin.auth);
      return r.body.status === "online" ? r.body : undefined;
    });
    expect(back.unhealthyNodes).to.deep.equal([]);

    // node-2 leaves the swarm
    agent.publish(
      subjects.inventory,
      enc.encode(JSON.stringify({ ...inventory, hash: "b".repeat(64), nodes: [inventory.nodes[0]] })),
    );
    await agent.flush();
    await until("node removal", async () => {
      const r = await api.get<{ items: unknown[] }>(`${path}/nodes`, org.admin.auth);
      return r.body.items.length === 1 ? true : undefined;
    });

    await agent.close();
    await until(
      "offline",
      async () =>
        (await api.get<{ status: string }>(path, org.admin.auth)).body.status === "offline" ? true : undefined,
      15_000,
    );
  });

  it("goes offline at once on an agent's goodbye, and a heartbeat sent just before it does not bring it back", async () => {
    const created = await createCluster("goodbye");
    const { res, user } = await register(created.registrationToken);
    const agent = await connectAgent(res.body, user);
    const subjects = agentSubjects(res.body.clusterId);
    const heartbeat = () =>
      agent.publish(
        subjects.heartbeat,
        enc.encode(
          JSON.stringify({
            clusterId: res.body.clusterId,
            agentVersion: "0.1.0",
            hostname: "manager-1",
            sentAt: Date.now(),
            startedAt: Date.now() - 1000,
            uptimeSeconds: 1,
            docker,
            dockerError: null,
            inventoryHash: null,
          }),
        ),
      );
    const path = `/v1/orgs/${org.orgId}/clusters/${res.body.clusterId}`;
    const status = async () =>
      (await api.get<{ status: string; lastSeenAt: string | null }>(path, org.admin.auth)).body;
    heartbeat();
    await agent.flush();
    await until("online", async () => ((await status()).status === "online" ? true : undefined));

    // The heartbeat is still in the batch (flushed once a second) when the goodbye arrives.
    heartbeat();
    const sentAt = Date.now();
    agent.publish(
      subjects.goodbye,
      enc.encode(JSON.stringify({ clusterId: res.body.clusterId, sentAt, reason: "stopping" })),
    );
    await agent.flush();
    await until("offline", async () => ((await status()).status === "offline" ? true : undefined), 2_000);
    const offline = await status();
    expect(Date.parse(offline.lastSeenAt ?? "")).to.be.at.least(sentAt - 1_000);
    await new Promise((r) => setTimeout(r, 2_500));
    expect((await status()).status, "the batched heartbeat did not bring it back").to.equal("offline");

    // A heartbeat after the goodbye (the agent came back) is online again.
    heartbeat();
    await agent.flush();
    await until("online again", async () => ((await status()).status === "online" ? true : undefined));
    await agent.close();
  });

  it("renews credentials over NATS without re-registration", async () => {
    const created = await createCluster("renew");
    const { res, user } = await register(created.registrationToken);
    const agent = await connectAgent(res.body, user);
    await sleep(1_100); // JWTs carry second-resolution timestamps
    const request = signRenewRequest(new TextDecoder().decode(user.getSeed()), {
      clusterId: res.body.clusterId,
      requestedAt: Date.now(),
    });
    const reply = await agent.request(agentSubjects(res.body.clusterId).renew, enc.encode(JSON.stringify(request)), {
      timeout: 5000,
    });
    const answer = JSON.parse(new TextDecoder().decode(reply.data)) as { ok: boolean; jwt: string; expiresAt: number };
    expect(answer.ok).to.equal(true);
    expect(answer.jwt).to.not.equal(res.body.jwt);
    const renewed = await connectAgent({ ...res.body, jwt: answer.jwt }, user);
    await renewed.close();
    // Another key cannot renew this cluster's credentials.
    const forged = signRenewRequest(new TextDecoder().decode(createUser().getSeed()), {
      clusterId: res.body.clusterId,
      requestedAt: Date.now(),
    });
    const refused = await agent.request(agentSubjects(res.body.clusterId).renew, enc.encode(JSON.stringify(forged)), {
      timeout: 5000,
    });
    expect(JSON.parse(new TextDecoder().decode(refused.data))).to.deep.include({ ok: false });
    await agent.close();
  });

  it("revocation makes the NATS server drop the live agent within 5 s and refuse it afterwards", async () => {
    const created = await createCluster("revoke-me");
    const { res, user } = await register(created.registrationToken);
    const agent = await connectAgent(res.body, user);
    const closed = agent.closed();
    const started = Date.now();
    const revoke = await api.request<{ status: string }>(
      "POST",
      `/v1/orgs/${org.orgId}/clusters/${res.body.clusterId}/revoke`,
      { headers: org.admin.auth },
    );
    expect(revoke.status).to.equal(200);
    expect(revoke.body.status).to.equal("revoked");
    await Promise.race([closed, sleep(5_000).then(() => Promise.reject(new Error("agent still connected after 5 s")))]);
    expect(Date.now() - started).to.be.lessThan(5_000);
    let error: unknown;
    try {
      await (await connectAgent(res.body, user)).close();
    } catch (err) {
      error = err;
    }
    expect(String(error)).to.match(/authorization|revoked/i);
  });

  it("re-registration with a new token replaces (and revokes) the previous agent key", async () => {
    const created = await createCluster("replace");
    const first = await register(created.registrationToken);
    const old = await connectAgent(first.res.body, first.user);
    const fresh = await api.request<{ registrationToken: string }>(
      "POST",
      `/v1/orgs/${org.orgId}/clusters/${created.cluster.id}/registration-token`,
      { headers: org.admin.auth },
    );
    expect(fresh.status).to.equal(201);
    const second = await register(fresh.body.registrationToken);
    expect(second.res.status).to.equal(200);
    await Promise.race([old.closed(), sleep(5_000).then(() => Promise.reject(new Error("old agent still connected")))]);
    const current = await connectAgent(second.res.body, second.user);
    await current.close();
  });

  it("stores the agent's seal key per credential: kept by renewal, replaced by re-registration, malformed refused", async () => {
    const created = await createCluster("seal");
    const firstKey = createSealKeyPair().publicKey;
    const bad = await register(created.registrationToken, createUser(), "not-a-key");
    expect(bad.res.status).to.equal(400);
    const first = await register(created.registrationToken, createUser(), firstKey);
    expect(first.res.status).to.equal(200);
    expect(await agentSealPublicKey(db, created.cluster.id)).to.equal(firstKey);

    const agent = await connectAgent(first.res.body, first.user);
    await sleep(1_100); // a renewal in another second mints a new credential row
    const request = signRenewRequest(new TextDecoder().decode(first.user.getSeed()), {
      clusterId: created.cluster.id,
      requestedAt: Date.now(),
    });
    const reply = await agent.request(agentSubjects(created.cluster.id).renew, enc.encode(JSON.stringify(request)), {
      timeout: 5000,
    });
    expect(JSON.parse(new TextDecoder().decode(reply.data))).to.deep.include({ ok: true });
    const rows = await db("agent_credentials").where({ cluster_id: created.cluster.id }).select("seal_public_key");
    expect(rows.length).to.be.greaterThan(1);
    expect(rows.map((r: { seal_public_key: string }) => r.seal_public_key)).to.deep.equal(rows.map(() => firstKey));
    await agent.close();

    const fresh = await api.request<{ registrationToken: string }>(
      "POST",
      `/v1/orgs/${org.orgId}/clusters/${created.cluster.id}/registration-token`,
      { headers: org.admin.auth },
    );
    const secondKey = createSealKeyPair().publicKey;
    expect((await register(fresh.body.registrationToken, createUser(), secondKey)).res.status).to.equal(200);
    expect(await agentSealPublicKey(db, created.cluster.id), "rotated").to.equal(secondKey);

    const older = await api.request<{ registrationToken: string }>(
      "POST",
      `/v1/orgs/${org.orgId}/clusters/${created.cluster.id}/registration-token`,
      { headers: org.admin.auth },
    );
    expect((await register(older.body.registrationToken)).res.status, "an agent older than sealing").to.equal(200);
    expect(await agentSealPublicKey(db, created.cluster.id), "no key: nothing will be sealed to the old one").to.equal(
      null,
    );
  });

  it("refuses a victim's public key for another cluster (409 AGENT_KEY_IN_USE): revoking that cluster cannot cut the victim off", async () => {
    const victimCluster = await createCluster("victim");
    const victim = await register(victimCluster.registrationToken);
    expect(victim.res.status).to.equal(200);
    const victimLink = await connectAgent(victim.res.body, victim.user);

    // Another org's admin knows the victim's public key (it is no secret) and registers it to their own cluster.
    const attacker = await createOrgWithAdmin(api);
    const theirs = await api.request<{ cluster: { id: string }; registrationToken: string }>(
      "POST",
      `/v1/orgs/${attacker.orgId}/clusters`,
      { body: { name: "bait" }, headers: attacker.admin.auth },
    );
    expect(theirs.status).to.equal(201);
    const stolen = await api.request<{ error: { code: string } }>("POST", "/v1/agent/register", {
      body: {
        token: theirs.body.registrationToken,
        publicKey: victim.user.getPublicKey(),
        hostname: "bait",
        agentVersion: "0.1.0",
        docker,
      },
    });
    expect(stolen.status).to.equal(409);
    expect(stolen.body.error.code).to.equal("AGENT_KEY_IN_USE");
    expect(
      await db("agent_credentials").where({ cluster_id: theirs.body.cluster.id }),
      "nothing recorded for the attacker's cluster",
    ).to.have.length(0);

    // Their token was not spent by the refusal: it still registers a key of their own.
    const own = await register(theirs.body.registrationToken);
    expect(own.res.status).to.equal(200);
    const revoked = await api.request("POST", `/v1/orgs/${attacker.orgId}/clusters/${theirs.body.cluster.id}/revoke`, {
      headers: attacker.admin.auth,
    });
    expect(revoked.status).to.equal(200);
    await sleep(1_000);
    expect(victimLink.isClosed(), "the victim stays connected").to.equal(false);
    await victimLink.flush();
    await victimLink.close();
  });

  it("keeps one key to one cluster in the database itself (exclusion constraint)", async () => {
    const a = await createCluster("constraint-a");
    const b = await createCluster("constraint-b");
    const reg = await register(a.registrationToken);
    const [row] = await db("agent_credentials").where({ cluster_id: a.cluster.id });
    let error: unknown;
    try {
      await db("agent_credentials").insert({
        org_id: row.org_id,
        cluster_id: b.cluster.id,
        public_nkey: reg.user.getPublicKey(),
        jwt_id: `forged-${Date.now()}`,
        expires_at: new Date(Date.now() + 3600_000),
      });
    } catch (err) {
      error = err;
    }
    expect(error).to.have.property("code", "23P01");
    expect(error).to.have.property("constraint", "agent_credentials_public_nkey_one_cluster");
  });

  it("hides other orgs' clusters", async () => {
    const other = await createOrgWithAdmin(api);
    const created = await createCluster("mine");
    const res = await api.get(`/v1/orgs/${other.orgId}/clusters/${created.cluster.id}`, other.admin.auth);
    expect(res.status).to.equal(404);
    const list = await api.get<{ items: unknown[] }>(`/v1/orgs/${other.orgId}/clusters`, other.admin.auth);
    expect(list.body.items).to.deep.equal([]);
  });
});
