import { expect } from "chai";
import { connect, jwtAuthenticator, type NatsConnection } from "nats";
import { createUser } from "nkeys.js";
import type { Db } from "../_shared/db.js";
import { TEST_AGENT_DOCKER_INFO, createOrgWithAdmin, type TestOrg } from "../_shared/testing/fixtures.js";
import { ContractClient } from "../_shared/testing/http.js";
import type { TestNatsServer } from "../_shared/testing/nats-server.js";
import { startTestPlatform, type TestPlatform } from "../_shared/testing/platform.js";
import { startTestStack, stopTestStack } from "../_shared/testing/stack.js";
import { until } from "../_shared/testing/wait.js";
import { agentInboxPrefix } from "../../nats/protocol/subjects.js";

const docker = TEST_AGENT_DOCKER_INFO;

describe("revocations survive a NATS server that lost them (real gateway, Postgres, NATS)", function () {
  this.timeout(90_000);
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let db: Db;
  let api: ContractClient;
  let org: TestOrg;

  before(async () => {
    ({ db, nats, platform, api } = await startTestStack());
    org = await createOrgWithAdmin(api);
  });
  after(async () => {
    await stopTestStack({ db, nats, platform });
  });

  /** Registers an agent for a new cluster; returns how to connect as it. */
  async function registeredAgent(name: string) {
    const created = await api.request<{ cluster: { id: string }; registrationToken: string }>(
      "POST",
      `/v1/orgs/${org.orgId}/clusters`,
      { body: { name }, headers: org.admin.auth },
    );
    expect(created.status).to.equal(201);
    const user = createUser();
    const reg = await api.request<{ clusterId: string; jwt: string }>("POST", "/v1/agent/register", {
      body: {
        token: created.body.registrationToken,
        publicKey: user.getPublicKey(),
        hostname: "m",
        agentVersion: "0.1.0",
        docker,
      },
    });
    expect(reg.status).to.equal(200);
    const connectAgent = (): Promise<NatsConnection> =>
      connect({
        servers: nats.url,
        tls: nats.tls,
        authenticator: jwtAuthenticator(reg.body.jwt, user.getSeed()),
        inboxPrefix: agentInboxPrefix(reg.body.clusterId),
        reconnect: false,
        timeout: 3_000,
      });
    return { clusterId: reg.body.clusterId, publicKey: user.getPublicKey(), connectAgent };
  }

  /** Whether the server lets the agent in right now. */
  async function accepted(connectAgent: () => Promise<NatsConnection>): Promise<boolean> {
    try {
      const nc = await connectAgent();
      await nc.close();
      return true;
    } catch (err) {
      if (/authorization|revoked/i.test(String(err))) return false;
      throw err;
    }
  }

  async function revoke(clusterId: string) {
    const res = await api.request("POST", `/v1/orgs/${org.orgId}/clusters/${clusterId}/revoke`, {
      headers: org.admin.auth,
    });
    expect(res.status).to.equal(200);
  }

  it("re-pushes them from the database when the clusters service starts", async () => {
    const agent = await registeredAgent("lost-at-restart");
    const live = await registeredAgent("still-live");
    await revoke(agent.clusterId);
    expect(await accepted(agent.connectAgent)).to.equal(false);

    // The control plane is down while NATS comes back without its resolver store: the revocation is gone.
    await platform.stop();
    await nats.restart({ freshResolver: true });
    expect(await accepted(agent.connectAgent), "the restarted server alone lets the revoked agent in").to.equal(true);

    platform = await startTestPlatform(nats);
    api = new ContractClient(platform.baseUrl);
    expect(await accepted(agent.connectAgent), "refused as soon as the clusters service is up").to.equal(false);
    expect(await accepted(live.connectAgent), "other agents are untouched").to.equal(true);
  });

  it("re-pushes them when the control plane reconnects to a NATS server that restarted", async () => {
    const agent = await registeredAgent("lost-at-reconnect");
    await revoke(agent.clusterId);
    expect(await accepted(agent.connectAgent)).to.equal(false);
    await nats.restart({ freshResolver: true });
    await until(
      "the revocation is back",
      async () => ((await accepted(agent.connectAgent)) ? undefined : true),
      20_000,
      250,
    );
  });

  it("keeps a deleted cluster's agent revoked, through a restart too, and its key out of other clusters", async () => {
    const agent = await registeredAgent("deleted");
    const live = await agent.connectAgent();
    const closed = live.closed();
    const res = await api.request("DELETE", `/v1/orgs/${org.orgId}/clusters/${agent.clusterId}`, {
      headers: org.admin.auth,
    });
    expect(res.status).to.be.oneOf([200, 204]);
    await Promise.race([
      closed,
      new Promise((_, reject) => setTimeout(() => reject(new Error("still connected after 5 s")), 5_000)),
    ]);
    expect(await accepted(agent.connectAgent)).to.equal(false);
    expect(await db("revoked_agent_keys").where({ public_nkey: agent.publicKey })).to.have.length(1);

    await platform.stop();
    await nats.restart({ freshResolver: true });
    platform = await startTestPlatform(nats);
    api = new ContractClient(platform.baseUrl);
    expect(await accepted(agent.connectAgent), "still refused after the restart").to.equal(false);

    const other = await api.request<{ registrationToken: string }>("POST", `/v1/orgs/${org.orgId}/clusters`, {
      body: { name: "reuse" },
      headers: org.admin.auth,
    });
    const reuse = await api.request<{ error: { code: string } }>("POST", "/v1/agent/register", {
      body: {
        token: other.body.registrationToken,
        publicKey: agent.publicKey,
        hostname: "m",
        agentVersion: "0.1.0",
        docker,
      },
    });
    expect(reuse.status).to.equal(409);
    expect(reuse.body.error.code).to.equal("AGENT_KEY_IN_USE");
  });
});
