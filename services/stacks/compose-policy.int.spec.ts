/**
 * The compose policy end to end on the real gateway, Postgres, NATS/JetStream and the real worker: the policy
 * routes (RBAC, validation, audit), the upload check, and the deploy-time check on the rendered state (a
 * scripted agent shows nothing is dispatched when the policy refuses).
 */
import { expect } from "chai";
import type { Db } from "../_shared/db.js";
import { startFakeAgent, type FakeAgent } from "../_shared/testing/fake-agent.js";
import {
  createOrgWithAdmin,
  createUserWithRole,
  uniqueName,
  type TestOrg,
  type TestUser,
} from "../_shared/testing/fixtures.js";
import type { ContractClient } from "../_shared/testing/http.js";
import type { TestNatsServer } from "../_shared/testing/nats-server.js";
import type { TestPlatform } from "../_shared/testing/platform.js";
import { startTestStack, stopTestStack } from "../_shared/testing/stack.js";
import { until } from "../_shared/testing/wait.js";
import type { DeployStack } from "../../nats/protocol/messages.js";

interface ErrorBody {
  error: {
    code: string;
    message: string;
    details?: { violations?: Array<{ rule: string; path: string; message: string }> };
  };
}
interface Policy {
  rules: Record<string, boolean>;
  bindAllowList: string[];
  alwaysEnforced: string[];
  updatedAt: string | null;
}
interface ClusterPolicy {
  clusterId: string;
  override: { rules: Record<string, boolean>; bindAllowList: string[] | null };
  effective: { rules: Record<string, boolean>; bindAllowList: string[] };
}
interface Deployment {
  id: string;
  status: string;
  errorMessage: string | null;
  errorCode: string | null;
}

const RISKY = `x-risky: &risky
  privileged: true
services:
  web:
    <<: *risky
    image: nginx:1.27
    cap_add: [NET_ADMIN]
    env_file: .env
    volumes:
      - /var/run/docker.sock:/var/run/docker.sock
      - { type: bind, source: ./conf, target: /conf }
    deploy: { placement: { constraints: [node.role == manager] } }
secrets:
  key: { file: /var/lib/stackyard-agent/state.json }
`;
const BIND_SRV = "services:\n  app:\n    image: nginx:1.27\n    volumes: ['/srv/app/data:/data']\n";
const PLAIN = "services:\n  app:\n    image: nginx:1.27\n";

describe("compose policy (real gateway, Postgres, NATS, worker; scripted agent)", function () {
  this.timeout(90_000);
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let db: Db;
  let api: ContractClient;
  let org: TestOrg;
  let other: TestOrg;
  let clusterAdmin: TestUser;
  let appAdmin: TestUser;
  let viewer: TestUser;
  let agent: FakeAgent;
  let stackId: string;
  let envId: string;

  const putOrg = (body: unknown, auth = org.admin.auth) =>
    api.request<Policy & ErrorBody>("PUT", `/v1/orgs/${org.orgId}/compose-policy`, { body, headers: auth });
  const putCluster = (body: unknown, auth = org.admin.auth, clusterId = agent.clusterId) =>
    api.request<ClusterPolicy & ErrorBody>("PUT", `/v1/orgs/${org.orgId}/clusters/${clusterId}/compose-policy`, {
      body,
      headers: auth,
    });
  const upload = (composeYaml: string) =>
    api.request<{ id: string } & ErrorBody>("POST", `/v1/stacks/${stackId}/releases`, {
      body: { sourceType: "upload", composeYaml },
      headers: org.admin.auth,
    });
  const deploy = (releaseId: string) =>
    api.request<Deployment>("POST", `/v1/environments/${envId}/deployments`, {
      body: { releaseId },
      headers: org.admin.auth,
    });
  const waitEnded = (id: string) =>
    until(`deployment ${id} ended`, async () => {
      const d = (await api.get<Deployment>(`/v1/deployments/${id}`, org.admin.auth)).body;
      return d.status === "SUCCEEDED" || d.status === "FAILED" ? d : undefined;
    });
  const audit = (action: string) =>
    db("audit_events").where({ org_id: org.orgId, action }).orderBy("ts", "desc").select("data_json", "actor_id");
  const deployed = () => agent.received.filter((c) => c.type === "DeployStack").length;

  before(async () => {
    ({ db, nats, platform, api } = await startTestStack({ DEPLOY_AGENT_WAIT_SECONDS: "5" }));
    org = await createOrgWithAdmin(api);
    other = await createOrgWithAdmin(api);
    clusterAdmin = await createUserWithRole(api, org, "CLUSTER_ADMIN");
    appAdmin = await createUserWithRole(api, org, "APP_ADMIN");
    viewer = await createUserWithRole(api, org, "VIEWER");
    agent = await startFakeAgent(api, nats.url, { orgId: org.orgId, auth: org.admin.auth }, "policy");
    agent.handlers.set("DeployStack", (command) => {
      const p = command.payload as unknown as DeployStack;
      setTimeout(() => void agent.emit(p.deploymentId, p.firstSeq, "converged", { outcome: "succeeded" }), 50);
      return { deploymentId: p.deploymentId, status: "started" };
    });
    const stack = await api.request<{ id: string }>("POST", `/v1/orgs/${org.orgId}/stacks`, {
      body: { name: uniqueName("pol").replace(/[^a-z0-9-]/g, "") },
      headers: org.admin.auth,
    });
    stackId = stack.body.id;
    const env = await api.request<{ id: string }>("POST", `/v1/stacks/${stackId}/environments`, {
      body: { name: "prod", clusterId: agent.clusterId },
      headers: org.admin.auth,
    });
    envId = env.body.id;
  });
  after(async () => {
    await agent?.close();
    await stopTestStack({ db, nats, platform });
  });

  it("answers the defaults before any policy is set, to every role of the org", async () => {
    const res = await api.get<Policy>(`/v1/orgs/${org.orgId}/compose-policy`, viewer.auth);
    expect(res.status).to.equal(200);
    expect(Object.values(res.body.rules).every((on) => on)).to.equal(true);
    expect(res.body).to.deep.include({ bindAllowList: [], updatedAt: null });
    expect(res.body.alwaysEnforced).to.deep.equal(["local-file", "env-file", "bind-mount"]);
  });

  it("refuses an upload with 422 listing every violated rule with its path", async () => {
    const res = await upload(RISKY);
    expect(res.status).to.equal(422);
    expect(res.body.error.code).to.equal("COMPOSE_POLICY_VIOLATION");
    expect(res.body.error.details?.violations?.map((v) => `${v.rule} ${v.path}`)).to.deep.equal([
      "local-file secrets.key.file",
      "env-file services.web.env_file",
      "privileged services.web.privileged",
      "cap-add services.web.cap_add",
      "docker-socket services.web.volumes[0]",
      "bind-mount services.web.volumes[0]",
      "bind-mount services.web.volumes[1]",
      "manager-placement services.web.deploy.placement.constraints[0]",
    ]);
    expect(res.body.error.message).to.contain("services.web.volumes[1] (bind-mount)");
    expect(await db("stack_releases").where({ stack_id: stackId })).to.have.length(0);
  });

  it("lets ORG_ADMIN and CLUSTER_ADMIN change the policy, not APP_ADMIN or VIEWER; audits before and after", async () => {
    expect((await putOrg({ rules: {}, bindAllowList: [] }, appAdmin.auth)).status).to.equal(403);
    expect((await putOrg({ rules: {}, bindAllowList: [] }, viewer.auth)).status).to.equal(403);
    const res = await putOrg(
      { rules: { "cap-add": false }, bindAllowList: ["/srv/app/", "/srv/app"] },
      clusterAdmin.auth,
    );
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body.rules["cap-add"]).to.equal(false);
    expect(res.body.rules.privileged).to.equal(true);
    expect(res.body.bindAllowList).to.deep.equal(["/srv/app"]);
    const [row] = await audit("compose_policy.update");
    expect(row.actor_id).to.equal(clusterAdmin.userId);
    expect(row.data_json).to.deep.equal({
      before: { lifted: [], enforced: Object.keys(res.body.rules), bindAllowList: [] },
      after: {
        lifted: ["cap-add"],
        enforced: Object.keys(res.body.rules).filter((r) => r !== "cap-add"),
        bindAllowList: ["/srv/app"],
      },
    });
    // Another org sees its own defaults.
    const theirs = await api.get<Policy>(`/v1/orgs/${other.orgId}/compose-policy`, other.admin.auth);
    expect(theirs.body.rules["cap-add"]).to.equal(true);
  });

  it("refuses relative or interpolated allow-list entries (422) and unknown rules (400), changing nothing", async () => {
    const bad = await putOrg({ rules: {}, bindAllowList: ["/srv/${HOME}"] });
    expect(bad.status).to.equal(422);
    expect(bad.body.error.code).to.equal("COMPOSE_POLICY_INVALID_PATH");
    expect((await putOrg({ rules: {}, bindAllowList: ["srv"] })).status).to.equal(400);
    expect((await putOrg({ rules: { "always-fine": false }, bindAllowList: [] })).status).to.equal(400);
    const now = await api.get<Policy>(`/v1/orgs/${org.orgId}/compose-policy`, org.admin.auth);
    expect(now.body.bindAllowList).to.deep.equal(["/srv/app"]);
  });

  it("checks an upload against the loosest policy of the org and its cluster overrides", async () => {
    const privileged = "services:\n  app:\n    image: nginx:1.27\n    privileged: true\n";
    expect((await upload(privileged)).body.error.code).to.equal("COMPOSE_POLICY_VIOLATION");
    const res = await putCluster({ rules: { privileged: false }, bindAllowList: null }, clusterAdmin.auth);
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body.override).to.deep.equal({ rules: { privileged: false }, bindAllowList: null });
    expect(res.body.effective.rules.privileged).to.equal(false);
    expect(res.body.effective.bindAllowList).to.deep.equal(["/srv/app"]);
    expect((await upload(privileged)).status).to.equal(201);
    const [row] = await audit("cluster.compose_policy.update");
    expect(row.data_json).to.deep.equal({
      before: null,
      after: { lifted: ["privileged"], enforced: [], bindAllowList: null },
    });
    // Removing the override (no rules, no allow-list) deletes it.
    const cleared = await putCluster({ rules: {}, bindAllowList: null });
    expect(cleared.body.override).to.deep.equal({ rules: {}, bindAllowList: null });
    expect(await db("compose_policies").where({ cluster_id: agent.clusterId })).to.have.length(0);
  });

  it("keeps cluster overrides inside the org: another org's cluster is 404, APP_ADMIN is 403", async () => {
    const theirCluster = await api.request<{ cluster: { id: string } }>("POST", `/v1/orgs/${other.orgId}/clusters`, {
      body: { name: "theirs" },
      headers: other.admin.auth,
    });
    const res = await putCluster(
      { rules: { privileged: false }, bindAllowList: null },
      org.admin.auth,
      theirCluster.body.cluster.id,
    );
    expect(res.status).to.equal(404);
    expect((await putCluster({ rules: {}, bindAllowList: null }, appAdmin.auth)).status).to.equal(403);
    const get = await api.get<ClusterPolicy>(
      `/v1/orgs/${org.orgId}/clusters/${agent.clusterId}/compose-policy`,
      viewer.auth,
    );
    expect(get.status).to.equal(200);
  });

  it("deploys a compliant release, and refuses at deploy a release the policy later forbids, dispatching nothing", async () => {
    const release = await upload(BIND_SRV);
    expect(release.status, JSON.stringify(release.body)).to.equal(201);
    const ok = await deploy(release.body.id);
    expect(ok.status).to.equal(202);
    expect((await waitEnded(ok.body.id)).status).to.equal("SUCCEEDED");
    const before = deployed();

    // Tighten: the allow-list no longer covers /srv/app.
    expect((await putOrg({ rules: {}, bindAllowList: ["/srv/other"] })).status).to.equal(200);
    const refused = await deploy(release.body.id);
    expect(refused.status).to.equal(202);
    const ended = await waitEnded(refused.body.id);
    expect(ended).to.deep.include({ status: "FAILED", errorCode: "COMPOSE_POLICY_VIOLATION" });
    expect(ended.errorMessage).to.contain("services.app.volumes[0] (bind-mount)");
    expect(deployed()).to.equal(before);
    const [terminal] = await db("deployment_events")
      .where({ deployment_id: refused.body.id })
      .orderBy("seq", "desc")
      .limit(1);
    expect(terminal.data_json).to.deep.include({ code: "COMPOSE_POLICY_VIOLATION", status: "FAILED" });
    expect(terminal.data_json.violations).to.deep.equal([
      {
        rule: "bind-mount",
        path: "services.app.volumes[0]",
        message: 'the bind source "/srv/app/data" is not under the allow-list (/srv/other)',
      },
    ]);

    // A cluster override that allows the path lets it through again.
    expect((await putCluster({ rules: {}, bindAllowList: ["/srv/app"] })).status).to.equal(200);
    const again = await deploy(release.body.id);
    expect((await waitEnded(again.body.id)).status).to.equal("SUCCEEDED");
    await putCluster({ rules: {}, bindAllowList: null });
  });

  it("checks the rendered state: an overlay patch that adds a host bind is refused at deploy", async () => {
    const release = await upload(PLAIN);
    expect(release.status).to.equal(201);
    const overlay = await api.request("PUT", `/v1/environments/${envId}/overlay`, {
      body: {
        envJson: {},
        composePatchYaml: "services:\n  app:\n    volumes: ['/etc:/host-etc:ro']\n    network_mode: host\n",
      },
      headers: org.admin.auth,
    });
    expect(overlay.status, JSON.stringify(overlay.body)).to.equal(200);
    const before = deployed();
    const res = await deploy(release.body.id);
    const ended = await waitEnded(res.body.id);
    expect(ended.errorCode).to.equal("COMPOSE_POLICY_VIOLATION");
    expect(ended.errorMessage).to.contain("services.app.volumes[0] (bind-mount)");
    expect(ended.errorMessage).to.contain("services.app.network_mode (host-network)");
    expect(deployed()).to.equal(before);
  });
});
