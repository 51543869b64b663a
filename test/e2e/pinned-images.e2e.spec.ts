/**
 * Exact rollbacks on the real Swarm (real agent, real control plane, real dockerd): a release with a mutable tag
 * is deployed, another release replaces it, the tag is then moved to different content on the node, and the
 * rollback to the first release still runs the first image — the one the agent recorded when the first deploy
 * converged (a node-local image has no registry digest, so its pin is the local image ID).
 *
 * The stack is `pin<random>`, its environment `prod`; the images are `stackyard-pin-<random>:live` (two builds of
 * one tag, FROM the test image with a different label). `after` removes the stack and both images.
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Db } from "../../services/_shared/db.js";
import { createOrgWithAdmin, type TestOrg } from "../../services/_shared/testing/fixtures.js";
import { ContractClient } from "../../services/_shared/testing/http.js";
import { type TestNatsServer } from "../../services/_shared/testing/nats-server.js";
import { type TestPlatform } from "../../services/_shared/testing/platform.js";
import {
  docker,
  prepareSwarm,
  removeStack,
  spawnAgent,
  stopAgent,
  TEST_IMAGE,
  testStackCompose as compose,
  type AgentProcess,
} from "../../services/_shared/testing/swarm.js";
import { until } from "../../services/_shared/testing/wait.js";
import { startTestStack, stopTestStack } from "../../services/_shared/testing/stack.js";

interface Deployment {
  id: string;
  status: "PENDING" | "RUNNING" | "SUCCEEDED" | "FAILED" | "CANCELED";
  errorMessage: string | null;
  images: Array<{ service: string; image: string; pinned: string; kind: string }> | null;
}

describe("pinned images on a real single-node Swarm: a rollback runs the first image of a moved tag", function () {
  this.timeout(180_000);
  const suffix = randomBytes(4).toString("hex");
  const stackName = `pin${suffix}`;
  const swarmStack = `${stackName}-prod`;
  const image = `stackyard-pin-${suffix}:live`;
  const builtIds: string[] = [];
  let db: Db;
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let api: ContractClient;
  let org: TestOrg;
  let stateDir: string;
  let agent: AgentProcess | null = null;
  let envId = "";
  const releases = { mutable: "", other: "" };

  const auth = () => org.admin.auth;
  /** Builds `image` from the test image with its own label, so each build is different content. */
  const buildVariant = async (variant: string): Promise<string> => {
    const dir = await mkdtemp(join(tmpdir(), "stackyard-pin-build-"));
    try {
      await writeFile(join(dir, "Dockerfile"), `FROM ${TEST_IMAGE}\nLABEL io.stackyard.test.variant=${variant}\n`);
      await docker("build", "-q", "-t", image, dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const id = await docker("image", "inspect", "--format", "{{.Id}}", image);
    builtIds.push(id);
    return id;
  };
  const waitForSuccess = async (id: string): Promise<Deployment> => {
    const final = await until(
      `deployment ${id} to end`,
      async () => {
        const res = await api.get<Deployment>(`/v1/deployments/${id}`, auth());
        return res.body.status === "PENDING" || res.body.status === "RUNNING" ? undefined : res.body;
      },
      90_000,
      300,
    );
    expect(final.status, final.errorMessage ?? "").to.equal("SUCCEEDED");
    return final;
  };
  const deploy = async (path: string, releaseId: string) => {
    const res = await api.request<Deployment>("POST", `/v1/environments/${envId}/${path}`, {
      body: { releaseId },
      headers: { ...auth(), "idempotency-key": randomBytes(8).toString("hex") },
    });
    expect(res.status, JSON.stringify(res.body)).to.equal(202);
    return waitForSuccess(res.body.id);
  };
  /** The image ID the service's running container was started from. */
  const runningImageId = () =>
    until(
      "one running container of the new spec",
      async () => {
        const ids = (
          await docker("ps", "-q", "--filter", `label=com.docker.swarm.service.name=${swarmStack}_app`)
        ).split("\n");
        if (ids.length !== 1 || ids[0] === "") return undefined;
        return docker("inspect", "--format", "{{.Image}}", ids[0]!);
      },
      30_000,
      300,
    );

  before(async function () {
    this.timeout(180_000);
    await prepareSwarm();
    ({ db, nats, platform, api } = await startTestStack());
    org = await createOrgWithAdmin(api);
    stateDir = await mkdtemp(join(tmpdir(), "stackyard-pin-agent-"));
    const cluster = await api.request<{ cluster: { id: string }; registrationToken: string }>(
      "POST",
      `/v1/orgs/${org.orgId}/clusters`,
      { body: { name: "pin-swarm" }, headers: auth() },
    );
    expect(cluster.status).to.equal(201);
    const register = spawnAgent(["register", "--url", platform.baseUrl, "--state-dir", stateDir], {
      STACKYARD_AGENT_TOKEN: cluster.body.registrationToken,
    });
    expect(await register.exited, register.output.join("\n")).to.equal(0);
    agent = spawnAgent(["run", "--state-dir", stateDir], { STACKYARD_AGENT_HEARTBEAT_INTERVAL_MS: "1000" });
    const stack = await api.request<{ id: string }>("POST", `/v1/orgs/${org.orgId}/stacks`, {
      body: { name: stackName },
      headers: auth(),
    });
    expect(stack.status).to.equal(201);
    // Node-local images: no registry to resolve them against.
    const env = await api.request<{ id: string; imageResolution: string }>(
      "POST",
      `/v1/stacks/${stack.body.id}/environments`,
      {
        body: { name: "prod", clusterId: cluster.body.cluster.id, deployTimeoutSeconds: 60, imageResolution: "never" },
        headers: auth(),
      },
    );
    expect(env.status, JSON.stringify(env.body)).to.equal(201);
    expect(env.body.imageResolution).to.equal("never");
    envId = env.body.id;
    const release = async (composeYaml: string) => {
      const res = await api.request<{ id: string }>("POST", `/v1/stacks/${stack.body.id}/releases`, {
        body: { sourceType: "upload", composeYaml },
        headers: auth(),
      });
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      return res.body.id;
    };
    const sleeper = compose({ command: ["sleep", "3600"], replicas: 1 });
    releases.mutable = await release(sleeper.replace(`image: ${TEST_IMAGE}`, `image: ${image}`));
    releases.other = await release(sleeper);
    await until(
      "the cluster to turn online",
      async () => {
        const res = await api.get<{ status: string }>(
          `/v1/orgs/${org.orgId}/clusters/${cluster.body.cluster.id}`,
          auth(),
        );
        return res.body.status === "online" ? true : undefined;
      },
      30_000,
      300,
    );
  });

  after(async function () {
    this.timeout(120_000);
    await stopAgent(agent);
    await removeStack(swarmStack).catch((err: unknown) => console.error(String(err)));
    await stopTestStack({ db, nats, platform });
    for (const id of [image, ...builtIds]) await docker("rmi", "-f", id).catch(() => undefined);
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  afterEach(function () {
    if (this.currentTest?.state === "failed" && agent) {
      console.error(`--- agent output (last 80 lines) ---\n${agent.output.slice(-80).join("\n")}`);
    }
  });

  it("deploy, replace, move the tag, roll back: the task runs the first image, and the deployment says so", async () => {
    const first = await buildVariant("a");
    const deployed = await deploy("deployments", releases.mutable);
    expect(deployed.images).to.deep.equal([{ service: "app", image, pinned: first, kind: "image-id" }]);
    expect(await runningImageId()).to.equal(first);

    const replaced = await deploy("deployments", releases.other);
    expect(replaced.images?.[0]?.image).to.equal(TEST_IMAGE);

    const second = await buildVariant("b");
    expect(second, "the tag now names other content").not.to.equal(first);

    const rolledBack = await deploy("rollback", releases.mutable);
    expect(await runningImageId()).to.equal(first);
    expect(rolledBack.images).to.deep.equal([{ service: "app", image: first, pinned: first, kind: "image-id" }]);
    const spec = await docker(
      "service",
      "inspect",
      "--format",
      "{{.Spec.TaskTemplate.ContainerSpec.Image}}",
      `${swarmStack}_app`,
    );
    expect(spec).to.equal(first);

    // A redeploy of the release after the pinned rollback stays on the first image too.
    await deploy("deployments", releases.mutable);
    expect(await runningImageId()).to.equal(first);
  });
});
