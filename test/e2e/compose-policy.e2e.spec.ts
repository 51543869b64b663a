/**
 * The compose policy against the real Swarm: the real control plane, the real agent (child process) and this
 * machine's dockerd. A release binding an allowed host directory deploys; after the policy is tightened, a
 * release binding a directory no longer allowed is refused before the agent is asked anything, and the running
 * service is left exactly as it was (same spec version).
 *
 * The stack is `pol<random>`, its Swarm stack `pol<random>-prod`; `after` removes it and the temporary directories.
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Db } from "../../services/_shared/db.js";
import { createOrgWithAdmin, type TestOrg } from "../../services/_shared/testing/fixtures.js";
import type { ContractClient } from "../../services/_shared/testing/http.js";
import type { TestNatsServer } from "../../services/_shared/testing/nats-server.js";
import type { TestPlatform } from "../../services/_shared/testing/platform.js";
import {
  docker,
  prepareSwarm,
  removeStack,
  spawnAgent,
  stopAgent,
  TEST_IMAGE,
  type AgentProcess,
} from "../../services/_shared/testing/swarm.js";
import { until } from "../../services/_shared/testing/wait.js";
import { startTestStack, stopTestStack } from "../../services/_shared/testing/stack.js";

interface Deployment {
  id: string;
  status: string;
  errorMessage: string | null;
  errorCode: string | null;
}
interface ServiceInspect {
  Version: { Index: number };
  Spec: { TaskTemplate: { ContainerSpec: { Mounts?: Array<{ Type: string; Source: string; Target: string }> } } };
}

const composeBinding = (source: string) => `services:
  app:
    image: ${TEST_IMAGE}
    command: ["sleep", "3600"]
    stop_grace_period: 1s
    volumes:
      - { type: bind, source: ${source}, target: /data }
    deploy:
      replicas: 1
      update_config: { monitor: 1s }
`;

describe("the compose policy on a real single-node Swarm (real agent, real control plane)", function () {
  this.timeout(120_000);
  const stackName = `pol${randomBytes(4).toString("hex")}`;
  const swarmStack = `${stackName}-prod`;
  const swarmService = `${swarmStack}_app`;
  let db: Db;
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let api: ContractClient;
  let org: TestOrg;
  let stateDir: string;
  let allowedDir: string;
  let laterForbiddenDir: string;
  let agent: AgentProcess | null = null;
  let envId: string;
  let stackId: string;

  const auth = () => org.admin.auth;
  const upload = async (composeYaml: string) => {
    const res = await api.request<{ id: string }>("POST", `/v1/stacks/${stackId}/releases`, {
      body: { sourceType: "upload", composeYaml },
      headers: auth(),
    });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return res.body.id;
  };
  const deployAndWait = async (releaseId: string): Promise<Deployment> => {
    const res = await api.request<Deployment>("POST", `/v1/environments/${envId}/deployments`, {
      body: { releaseId },
      headers: auth(),
    });
    expect(res.status, JSON.stringify(res.body)).to.equal(202);
    return until(
      `deployment ${res.body.id} to end`,
      async () => {
        const d = (await api.get<Deployment>(`/v1/deployments/${res.body.id}`, auth())).body;
        return d.status === "PENDING" || d.status === "RUNNING" ? undefined : d;
      },
      90_000,
      300,
    );
  };
  const putPolicy = async (bindAllowList: string[]) => {
    const res = await api.request("PUT", `/v1/orgs/${org.orgId}/compose-policy`, {
      body: { rules: {}, bindAllowList },
      headers: auth(),
    });
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
  };
  const inspect = async () => (JSON.parse(await docker("service", "inspect", swarmService)) as ServiceInspect[])[0]!;

  before(async function () {
    this.timeout(180_000);
    await prepareSwarm();
    ({ db, nats, platform, api } = await startTestStack());
    org = await createOrgWithAdmin(api);
    stateDir = await mkdtemp(join(tmpdir(), "stackyard-policy-agent-"));
    allowedDir = await mkdtemp(join(tmpdir(), "stackyard-policy-allowed-"));
    laterForbiddenDir = await mkdtemp(join(tmpdir(), "stackyard-policy-later-"));

    const cluster = await api.request<{ cluster: { id: string }; registrationToken: string }>(
      "POST",
      `/v1/orgs/${org.orgId}/clusters`,
      { body: { name: "policy-swarm" }, headers: auth() },
    );
    expect(cluster.status).to.equal(201);
    const register = spawnAgent(["register", "--url", platform.baseUrl, "--state-dir", stateDir], {
      STACKYARD_AGENT_TOKEN: cluster.body.registrationToken,
    });
    expect(await register.exited, register.output.join("\n")).to.equal(0);
    agent = spawnAgent(["run", "--state-dir", stateDir], {
      STACKYARD_AGENT_HEARTBEAT_INTERVAL_MS: "1000",
      STACKYARD_AGENT_LOG_LEVEL: "info",
    });
    const stack = await api.request<{ id: string }>("POST", `/v1/orgs/${org.orgId}/stacks`, {
      body: { name: stackName },
      headers: auth(),
    });
    stackId = stack.body.id;
    const env = await api.request<{ id: string }>("POST", `/v1/stacks/${stackId}/environments`, {
      body: { name: "prod", clusterId: cluster.body.cluster.id, imageResolution: "never", deployTimeoutSeconds: 60 },
      headers: auth(),
    });
    expect(env.status).to.equal(201);
    envId = env.body.id;
  });

  after(async function () {
    this.timeout(120_000);
    await stopAgent(agent);
    await removeStack(swarmStack).catch((err: unknown) => console.error(String(err)));
    await stopTestStack({ db, nats, platform });
    for (const dir of [stateDir, allowedDir, laterForbiddenDir])
      if (dir) await rm(dir, { recursive: true, force: true });
  });

  afterEach(function () {
    if (this.currentTest?.state === "failed" && agent) {
      console.error(`--- agent output (last 60 lines) ---\n${agent.output.slice(-60).join("\n")}`);
    }
  });

  it("refuses at upload a bind outside the allow-list, and deploys one inside it", async () => {
    const refused = await api.request<{ error: { code: string } }>("POST", `/v1/stacks/${stackId}/releases`, {
      body: { sourceType: "upload", composeYaml: composeBinding(allowedDir) },
      headers: auth(),
    });
    expect(refused.status).to.equal(422);
    expect(refused.body.error.code).to.equal("COMPOSE_POLICY_VIOLATION");

    await putPolicy([allowedDir, laterForbiddenDir]);
    const ok = await deployAndWait(await upload(composeBinding(allowedDir)));
    expect(ok.status, ok.errorMessage ?? "").to.equal("SUCCEEDED");
    const mounts = (await inspect()).Spec.TaskTemplate.ContainerSpec.Mounts ?? [];
    expect(mounts).to.deep.include({ Type: "bind", Source: allowedDir, Target: "/data" });
  });

  it("refuses at deploy a release the tightened policy forbids, leaving the running service untouched", async () => {
    const release = await upload(composeBinding(laterForbiddenDir)); // allowed when uploaded
    await putPolicy([allowedDir]);
    const before = await inspect();
    const refused = await deployAndWait(release);
    expect(refused).to.deep.include({ status: "FAILED", errorCode: "COMPOSE_POLICY_VIOLATION" });
    expect(refused.errorMessage).to.contain("services.app.volumes[0] (bind-mount)");
    const after = await inspect();
    expect(after.Version.Index).to.equal(before.Version.Index);
    expect(after.Spec.TaskTemplate.ContainerSpec.Mounts?.[0]?.Source).to.equal(allowedDir);
  });
});
