/**
 * Registry credentials through the real gateway and Postgres (every answer checked against openapi.yaml), their
 * sealing into the deploy command (scripted agent on real NATS), and master-key rotation of their passwords.
 */
import { expect } from "chai";
import type { Db } from "../_shared/db.js";
import { parseMasterKeys } from "../_shared/master-keys.js";
import { startFakeAgent, type FakeAgent } from "../_shared/testing/fake-agent.js";
import { createOrgWithAdmin, uniqueName, type TestOrg } from "../_shared/testing/fixtures.js";
import type { ContractClient } from "../_shared/testing/http.js";
import type { TestNatsServer } from "../_shared/testing/nats-server.js";
import { TEST_MASTER_KEY, type TestPlatform } from "../_shared/testing/platform.js";
import { startTestStack, stopTestStack } from "../_shared/testing/stack.js";
import { until } from "../_shared/testing/wait.js";
import type { DeployStack } from "../../nats/protocol/messages.js";
import { open } from "../../nats/protocol/sealing.js";
import { rotateSecrets, verifyMasterKeys } from "./secrets-crypto.js";
import { testMasterKeySpec } from "./test-fixtures.js";

const PASSWORD = "int-registry-password-5f1c";

describe("registry credentials (real gateway, Postgres, NATS; scripted agent)", function () {
  this.timeout(60_000);
  let db: Db;
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let api: ContractClient;
  let org: TestOrg;
  let other: TestOrg;
  let agent: FakeAgent;
  let envId: string;
  let stackId: string;
  const bodies: string[] = [];
  const req = async <T>(method: string, path: string, body?: unknown, as: TestOrg = org) => {
    const res = await api.request<T & { error?: { code: string; message: string } }>(method, path, {
      ...(body !== undefined ? { body } : {}),
      headers: as.admin.auth,
    });
    bodies.push(JSON.stringify(res.body));
    return res;
  };
  const create = (name: string, registry: string, password = PASSWORD) =>
    req<{ id: string; version: number; registry: string }>("POST", `/v1/orgs/${org.orgId}/registry-credentials`, {
      name,
      registry,
      username: "ci",
      password,
    });

  before(async () => {
    ({ db, nats, platform, api } = await startTestStack());
    org = await createOrgWithAdmin(api);
    other = await createOrgWithAdmin(api);
    agent = await startFakeAgent(api, nats.url, { orgId: org.orgId, auth: org.admin.auth }, "fake");
    agent.handlers.set("DeployStack", async (command) => {
      const p = command.payload as unknown as DeployStack;
      setTimeout(
        () => void agent.emit(p.deploymentId, p.firstSeq, `login ${PASSWORD} ok`, { outcome: "succeeded" }),
        20,
      );
      return { deploymentId: p.deploymentId, status: "started" };
    });
    const stack = await req<{ id: string }>("POST", `/v1/orgs/${org.orgId}/stacks`, {
      name: uniqueName("reg").replace(/[^a-z0-9-]/g, ""),
    });
    stackId = stack.body.id;
    const env = await req<{ id: string }>("POST", `/v1/stacks/${stackId}/environments`, {
      name: "prod",
      clusterId: agent.clusterId,
    });
    envId = env.body.id;
  });
  after(async () => {
    await agent?.close();
    await stopTestStack({ db, nats, platform });
  });

  it("creates, changes (version + 1), attaches one per registry host, detaches and deletes; all audited", async () => {
    expect((await create("upper", "GHCR.io")).status, "hosts are lower-case, as image references spell them").to.equal(
      400,
    );
    const a = await create("ghcr", "ghcr.io");
    expect(a.status).to.equal(201);
    expect(a.body).to.deep.include({ registry: "ghcr.io", version: 1 });
    const bad = await create("bad", "https://ghcr.io/x");
    expect(bad.status).to.equal(400);
    const patched = await req<{ version: number; username: string }>(
      "PATCH",
      `/v1/orgs/${org.orgId}/registry-credentials/${a.body.id}`,
      { username: "ci2" },
    );
    expect(patched.status).to.equal(200);
    expect(patched.body).to.deep.include({ version: 2, username: "ci2" });
    expect((await req("PUT", `/v1/environments/${envId}/registry-credentials/${a.body.id}`)).status).to.equal(200);
    expect(
      (await req("PUT", `/v1/environments/${envId}/registry-credentials/${a.body.id}`)).status,
      "idempotent",
    ).to.equal(200);
    const b = await create("ghcr-2", "ghcr.io");
    const covered = await req("PUT", `/v1/environments/${envId}/registry-credentials/${b.body.id}`);
    expect(covered.status).to.equal(409);
    expect(covered.body.error?.code).to.equal("REGISTRY_ALREADY_COVERED");
    const notAttached = await req("DELETE", `/v1/environments/${envId}/registry-credentials/${b.body.id}`);
    expect(notAttached.status).to.equal(404);
    expect(notAttached.body.error?.code).to.equal("REGISTRY_CREDENTIAL_NOT_ATTACHED");
    // Another org sees none of it and cannot attach it.
    const foreign = await req<{ items: unknown[] }>(
      "GET",
      `/v1/orgs/${other.orgId}/registry-credentials`,
      undefined,
      other,
    );
    expect(foreign.body.items).to.deep.equal([]);
    const stolen = await req(
      "PATCH",
      `/v1/orgs/${other.orgId}/registry-credentials/${a.body.id}`,
      { password: "x" },
      other,
    );
    expect(stolen.status).to.equal(404);
    const deleted = await req("DELETE", `/v1/orgs/${org.orgId}/registry-credentials/${b.body.id}`);
    expect(deleted.status).to.equal(200);
    const actions = (await db("audit_events").where({ org_id: org.orgId })).map((r) => r.action as string);
    expect(actions.filter((x) => x.startsWith("registry_credential.")).sort()).to.deep.equal([
      "registry_credential.attach",
      "registry_credential.create",
      "registry_credential.create",
      "registry_credential.delete",
      "registry_credential.update",
    ]);
  });

  it("seals the attached logins into the deploy command (opening only for this agent and deployment) and masks the password", async () => {
    const release = await req<{ id: string }>("POST", `/v1/stacks/${stackId}/releases`, {
      sourceType: "upload",
      composeYaml: "services:\n  app:\n    image: ghcr.io/acme/app:1\n",
    });
    const dep = await api.request<{ id: string }>("POST", `/v1/environments/${envId}/deployments`, {
      body: { releaseId: release.body.id },
      headers: org.admin.auth,
    });
    expect(dep.status).to.equal(202);
    await until("the deployment to succeed", async () => {
      const d = await api.get<{ status: string }>(`/v1/deployments/${dep.body.id}`, org.admin.auth);
      return d.body.status === "SUCCEEDED" ? true : undefined;
    });
    const command = agent.received.find((c) => c.type === "DeployStack")!;
    expect(JSON.stringify(command)).to.not.include(PASSWORD);
    const payload = command.payload as unknown as DeployStack;
    expect(payload.registryAuth?.map((r) => r.registry)).to.deep.equal(["ghcr.io"]);
    const login = open(payload.registryAuth![0]!.sealed, agent.sealKeys!, {
      clusterId: agent.clusterId,
      deploymentId: dep.body.id,
      kind: "registry",
      name: "ghcr.io",
    });
    expect(JSON.parse(login.toString("utf8"))).to.deep.equal({ username: "ci2", password: PASSWORD });
    const events = JSON.stringify(await db("deployment_events").where({ deployment_id: dep.body.id }));
    expect(events).to.include("login ******** ok");
    expect(events).to.not.include(PASSWORD);
  });

  it("no answer or audit row ever carries the password; master-key rotation re-encrypts it", async () => {
    expect(bodies.join("\n")).to.not.include(PASSWORD);
    expect(JSON.stringify(await db("audit_events").where({ org_id: org.orgId }))).to.not.include(PASSWORD);
    const oldKeys = parseMasterKeys(TEST_MASTER_KEY);
    const nextSpec = testMasterKeySpec("k-next");
    const both = parseMasterKeys(`${nextSpec},${TEST_MASTER_KEY}`);
    const { reencrypted } = await rotateSecrets(db, both);
    expect(reencrypted).to.be.greaterThan(0);
    const onlyNew = parseMasterKeys(nextSpec);
    expect((await verifyMasterKeys(db, onlyNew)).checkedKeyIds).to.deep.equal(["k-next"]);
    // Put things back for any suite sharing this database.
    await rotateSecrets(db, parseMasterKeys(`${TEST_MASTER_KEY},${nextSpec}`));
    expect((await verifyMasterKeys(db, oldKeys)).checkedKeyIds).to.include("test-m1");
  });
});
