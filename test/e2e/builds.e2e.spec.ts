/**
 * Releases built from source end to end: a local git repository (file://) with a Dockerfile FROM the locally built
 * test image and a compose file with `build:`; the real control plane, the real agent, a real registry (Debian's
 * docker-registry with htpasswd) and the real Swarm. A build pushes the image, freezes the release with the pushed
 * digest and the release deploys with it; a broken Dockerfile fails the release with the failing step and the
 * builder's output in the events; a slow build is canceled; the output streams over SSE like a deploy's.
 * A pull request of the same stack gets a preview that builds its head, then deploys the built digest; a push
 * with a broken Dockerfile fails the preview with the build's step.
 */
import { expect } from "chai";
import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Db } from "../../services/_shared/db.js";
import { createOrgWithAdmin, type TestOrg } from "../../services/_shared/testing/fixtures.js";
import type { ContractClient } from "../../services/_shared/testing/http.js";
import type { TestNatsServer } from "../../services/_shared/testing/nats-server.js";
import type { TestPlatform } from "../../services/_shared/testing/platform.js";
import { startTestRegistry, type TestRegistry } from "../../services/_shared/testing/registry.js";
import { startTestStack, stopTestStack } from "../../services/_shared/testing/stack.js";
import {
  TEST_IMAGE,
  docker,
  prepareSwarm,
  removeStack,
  spawnAgent,
  stopAgent,
  type AgentProcess,
} from "../../services/_shared/testing/swarm.js";
import { until } from "../../services/_shared/testing/wait.js";
import { createTestGitRepo, type TestGitRepo } from "../../services/stacks/test-fixtures.js";

const USERNAME = "builder";
const PASSWORD = `build-canary-${randomBytes(12).toString("hex")}`;

interface Release {
  id: string;
  version: number;
  state: string;
  buildId: string | null;
  composeYaml: string;
}
interface Build {
  id: string;
  status: string;
  images: Record<string, string> | null;
  errorCode: string | null;
  errorMessage: string | null;
  failedService: string | null;
  failedStep: string | null;
}
interface Deployment {
  id: string;
  status: string;
  errorMessage: string | null;
}

describe("releases built from source: build, push to a real registry, freeze with the digest, deploy on Swarm", function () {
  this.timeout(300_000);
  const stackName = `h-builds-${randomBytes(3).toString("hex")}`;
  const swarmStack = `${stackName}-prod`;
  const swarmService = `${swarmStack}_app`;
  let db: Db;
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let api: ContractClient;
  let org: TestOrg;
  let registry: TestRegistry;
  let agent: AgentProcess | null = null;
  let work: string;
  let repo: TestGitRepo;
  let stackId: string;
  let envId: string;

  const auth = () => org.admin.auth;
  const commit = (files: Record<string, string>, branch: string): string => {
    repo.git(repo.work, "checkout", "--quiet", "-B", branch);
    for (const [file, content] of Object.entries(files)) {
      mkdirSync(join(repo.work, file, ".."), { recursive: true });
      writeFileSync(join(repo.work, file), content);
    }
    repo.git(repo.work, "add", ".");
    repo.git(repo.work, "commit", "--quiet", "-m", `${branch}: ${Object.keys(files).join(", ")}`);
    repo.git(repo.work, "push", "--quiet", "--force", repo.bare, branch);
    return repo.git(repo.work, "rev-parse", "HEAD");
  };
  const compose = [
    "services:",
    "  app:",
    "    build:",
    "      context: ./app",
    "      args:",
    "        GREETING: built-from-source",
    '    command: ["sleep", "3600"]',
    "    stop_grace_period: 1s",
    "",
  ].join("\n");
  const dockerfile = (run: string) =>
    `FROM ${TEST_IMAGE}\nARG GREETING=none\nRUN echo "$GREETING" > /greeting\n${run}\nCMD ["sleep", "3600"]\n`;
  const startBuild = async (ref: string) => {
    const res = await api.request<{ release: Release; build: Build | null }>("POST", `/v1/stacks/${stackId}/builds`, {
      body: { environmentId: envId, git: { repoUrl: repo.url, ref, path: "compose.yaml" } },
      headers: auth(),
    });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    expect(res.body.build, "a build").to.not.equal(null);
    return { release: res.body.release, build: res.body.build! };
  };
  const getBuild = async (id: string) => (await api.get<Build>(`/v1/builds/${id}`, auth())).body;
  const getRelease = async (id: string) => (await api.get<Release>(`/v1/releases/${id}`, auth())).body;
  const ended = (id: string) =>
    until(
      `build ${id} to end`,
      async () => {
        const b = await getBuild(id);
        return b.status === "PENDING" || b.status === "RUNNING" ? undefined : b;
      },
      180_000,
      300,
    );
  const events = async (buildId: string) =>
    (await db("release_build_events").where({ build_id: buildId }).orderBy("seq")) as Array<{
      seq: string;
      level: string;
      message: string;
      data_json: Record<string, unknown>;
    }>;

  before(async function () {
    this.timeout(400_000);
    await prepareSwarm();
    registry = await startTestRegistry(USERNAME, PASSWORD);
    ({ db, nats, platform, api } = await startTestStack({ GIT_ALLOWED_SCHEMES: "file" }));
    org = await createOrgWithAdmin(api);
    work = await mkdtemp(join(tmpdir(), "h-builds-e2e-"));
    const cluster = await api.request<{ cluster: { id: string }; registrationToken: string }>(
      "POST",
      `/v1/orgs/${org.orgId}/clusters`,
      { body: { name: "h-builds-swarm" }, headers: auth() },
    );
    expect(cluster.status).to.equal(201);
    const stateDir = join(work, "state");
    const register = spawnAgent(["register", "--url", platform.baseUrl, "--state-dir", stateDir], {
      STACKYARD_AGENT_TOKEN: cluster.body.registrationToken,
    });
    expect(await register.exited, register.output.join("\n")).to.equal(0);
    agent = spawnAgent(["run", "--state-dir", stateDir], { STACKYARD_AGENT_HEARTBEAT_INTERVAL_MS: "1000" });
    await until(
      "the cluster to turn online",
      async () =>
        (await api.get<{ status: string }>(`/v1/orgs/${org.orgId}/clusters/${cluster.body.cluster.id}`, auth())).body
          .status === "online"
          ? true
          : undefined,
      60_000,
    );
    const stack = await api.request<{ id: string }>("POST", `/v1/orgs/${org.orgId}/stacks`, {
      body: { name: stackName },
      headers: auth(),
    });
    stackId = stack.body.id;
    const env = await api.request<{ id: string }>("POST", `/v1/stacks/${stackId}/environments`, {
      body: { name: "prod", clusterId: cluster.body.cluster.id, deployTimeoutSeconds: 60 },
      headers: auth(),
    });
    envId = env.body.id;
    const credential = await api.request<{ id: string }>("POST", `/v1/orgs/${org.orgId}/registry-credentials`, {
      body: { name: "h-builds", registry: registry.host, username: USERNAME, password: PASSWORD },
      headers: auth(),
    });
    expect(credential.status, JSON.stringify(credential.body)).to.equal(201);
    const attached = await api.request("PUT", `/v1/environments/${envId}/registry-credentials/${credential.body.id}`, {
      headers: auth(),
    });
    expect(attached.status, JSON.stringify(attached.body)).to.equal(200);
    repo = createTestGitRepo("h-builds-repo-");
  });

  after(async function () {
    this.timeout(120_000);
    await stopAgent(agent);
    await removeStack(swarmStack).catch((err: unknown) => console.error(String(err)));
    await removeStack(`${stackName}-pr-3`).catch((err: unknown) => console.error(String(err)));
    // The images this suite built (every tag of the stack's repository on this node).
    const built = await docker(
      "image",
      "ls",
      "--format",
      "{{.Repository}}:{{.Tag}}",
      "--filter",
      `reference=${registry?.host}/${stackName}/*`,
    ).catch(() => "");
    for (const image of built.split("\n").filter(Boolean))
      await docker("image", "rm", "--force", image).catch(() => undefined);
    await stopTestStack({ db, nats, platform });
    await registry?.stop();
    if (repo) await rm(repo.root, { recursive: true, force: true });
    if (work) await rm(work, { recursive: true, force: true });
  });

  afterEach(function () {
    if (this.currentTest?.state === "failed" && agent) {
      console.error(`--- agent output (last 60 lines) ---\n${agent.output.slice(-60).join("\n")}`);
    }
  });

  it("builds and pushes the image, freezes the release with its digest, and deploys it on the swarm", async () => {
    const sha = commit({ "compose.yaml": compose, "app/Dockerfile": dockerfile("") }, "main");
    const { release, build } = await startBuild("main");
    expect(release.state).to.equal("building");
    expect(release.buildId).to.equal(build.id);
    // Not deployable while it builds.
    const early = await api.request<{ error: { code: string } }>("POST", `/v1/environments/${envId}/deployments`, {
      body: { releaseId: release.id },
      headers: { ...auth(), "idempotency-key": randomBytes(8).toString("hex") },
    });
    const done = await ended(build.id);
    expect(done.status, JSON.stringify(done)).to.equal("SUCCEEDED");
    expect(early.status, JSON.stringify(early.body)).to.equal(409);
    expect(early.body.error.code).to.equal("RELEASE_NOT_READY");
    const image = done.images?.app ?? "";
    expect(image).to.match(new RegExp(`^${registry.host}/${stackName}/app@sha256:[0-9a-f]{64}$`));
    expect(sha).to.match(/^[0-9a-f]{40}$/);

    // The registry really has it: the manifest digest it serves is the one frozen into the release.
    const repository = image.slice(0, image.indexOf("@"));
    const digest = image.slice(image.indexOf("@") + 1);
    const head = await fetch(
      `http://${registry.host}/v2/${repository.slice(registry.host.length + 1)}/manifests/${digest}`,
      {
        method: "HEAD",
        headers: {
          authorization: `Basic ${Buffer.from(`${USERNAME}:${PASSWORD}`).toString("base64")}`,
          accept: "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json",
        },
      },
    );
    expect(head.status).to.equal(200);
    expect(head.headers.get("docker-content-digest")).to.equal(digest);

    const frozen = await getRelease(release.id);
    expect(frozen.state).to.equal("ready");
    expect(frozen.composeYaml).to.include(`image: ${image}`);
    expect(frozen.composeYaml).to.not.match(/^\s+build:/m);

    const log = await events(build.id);
    expect(log.map((e) => Number(e.seq))).to.deep.equal(log.map((_, i) => i));
    expect(log.some((e) => /\[app\] Step 3\/\d+ : RUN echo "\$GREETING" > \/greeting/.test(e.message))).to.equal(true);
    expect(log.at(-1)?.data_json).to.deep.include({ terminal: true, status: "SUCCEEDED" });
    expect(JSON.stringify(log)).to.not.include(PASSWORD);

    const dep = await api.request<Deployment>("POST", `/v1/environments/${envId}/deployments`, {
      body: { releaseId: release.id },
      headers: { ...auth(), "idempotency-key": randomBytes(8).toString("hex") },
    });
    expect(dep.status, JSON.stringify(dep.body)).to.equal(202);
    const finished = await until(
      "the deployment to end",
      async () => {
        const d = (await api.get<Deployment>(`/v1/deployments/${dep.body.id}`, auth())).body;
        return d.status === "PENDING" || d.status === "RUNNING" ? undefined : d;
      },
      120_000,
      300,
    );
    expect(finished.status, JSON.stringify(finished)).to.equal("SUCCEEDED");
    const spec = JSON.parse(await docker("service", "inspect", swarmService)) as Array<{
      Spec: { TaskTemplate: { ContainerSpec: { Image: string } } };
    }>;
    expect(spec[0]?.Spec.TaskTemplate.ContainerSpec.Image).to.equal(image);
  });

  it("streams the build's output over SSE like a deployment's, ending with the terminal event", async () => {
    const release = (await api.get<{ items: Release[] }>(`/v1/stacks/${stackId}/releases`, auth())).body.items.find(
      (r) => r.buildId !== null,
    );
    const res = await fetch(`${platform.baseUrl}/v1/builds/${release!.buildId}/events`, { headers: auth() });
    expect(res.status).to.equal(200);
    expect(res.headers.get("content-type")).to.match(/^text\/event-stream/);
    const text = await res.text();
    expect(text).to.include("event: deployment-event");
    expect(text).to.match(/event: end\ndata: \{"id":"[^"]+","status":"SUCCEEDED"\}/);
  });

  it("a second build of the same stack reuses the layer cache", async () => {
    commit({ "app/extra.txt": "cache check\n" }, "main");
    const { build } = await startBuild("main");
    const done = await ended(build.id);
    expect(done.status, JSON.stringify(done)).to.equal("SUCCEEDED");
    const log = await events(build.id);
    expect(
      log.some((e) => /\[app\] .*Using cache/.test(e.message)),
      log.map((e) => e.message).join("\n"),
    ).to.equal(true);
  });

  it("a broken Dockerfile fails the release with the failing step and the builder's output", async () => {
    commit({ "app/Dockerfile": dockerfile('RUN echo "compiler says: no" && exit 3') }, "broken");
    const { release, build } = await startBuild("broken");
    const done = await ended(build.id);
    expect(done.status).to.equal("FAILED");
    expect(done.errorCode).to.equal("BUILD_FAILED");
    expect(done.failedService).to.equal("app");
    expect(done.failedStep).to.match(/^Step 4\/\d+ : RUN echo "compiler says: no" && exit 3/);
    expect((await getRelease(release.id)).state).to.equal("failed");
    const last = (await events(build.id)).at(-1)!;
    expect(last.level).to.equal("error");
    expect(last.message).to.include('step "RUN echo "compiler says: no" && exit 3" failed');
    expect(last.data_json).to.deep.include({ terminal: true, status: "FAILED", code: "BUILD_FAILED", service: "app" });
    expect((last.data_json.output as string[]).join("\n")).to.include("compiler says: no");
    const refused = await api.request<{ error: { code: string } }>("POST", `/v1/environments/${envId}/deployments`, {
      body: { releaseId: release.id },
      headers: { ...auth(), "idempotency-key": randomBytes(8).toString("hex") },
    });
    expect(refused.status).to.equal(409);
    expect(refused.body.error.code).to.equal("RELEASE_NOT_READY");
  });

  it("a running build can be canceled: the release ends canceled", async () => {
    commit({ "app/Dockerfile": dockerfile("RUN echo started-slow-step && sleep 120") }, "slow");
    const { release, build } = await startBuild("slow");
    await until(
      "the slow step to start",
      async () => ((await events(build.id)).some((e) => e.message.includes("started-slow-step")) ? true : undefined),
      120_000,
      300,
    );
    const res = await api.request<Build>("POST", `/v1/builds/${build.id}/cancel`, { headers: auth() });
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    const done = await ended(build.id);
    expect(done.status).to.equal("CANCELED");
    expect((await getRelease(release.id)).state).to.equal("canceled");
    expect((await events(build.id)).at(-1)?.data_json).to.deep.include({ terminal: true, status: "CANCELED" });
    const again = await api.request<{ error: { code: string } }>("POST", `/v1/builds/${build.id}/cancel`, {
      headers: auth(),
    });
    expect(again.status).to.equal(409);
    expect(again.body.error.code).to.equal("BUILD_FINISHED");
  });

  describe("a preview of a pull request whose compose builds from source", () => {
    interface Preview {
      id: string;
      environmentId: string | null;
      status: string;
      commit: string;
      buildId: string | null;
      deploymentId: string | null;
      releaseId: string | null;
      error: { code: string; message: string } | null;
    }
    let sourceId: string;
    let webhookSecret: string;
    const pullRequest = async (action: string, sha: string) => {
      const body = JSON.stringify({
        action,
        number: 3,
        pull_request: { number: 3, title: "PR 3", merged: false, head: { sha, ref: "feature-3" } },
      });
      return api.request<{ preview?: { result: string; preview: Preview | null } }>(
        "POST",
        `/v1/webhooks/git/${sourceId}`,
        {
          body,
          headers: {
            "content-type": "application/json",
            "x-github-event": "pull_request",
            "x-github-delivery": randomUUID(),
            "x-hub-signature-256": `sha256=${createHmac("sha256", webhookSecret).update(body).digest("hex")}`,
          },
        },
      );
    };
    const preview = async () =>
      (await api.get<{ items: Preview[] }>(`/v1/stacks/${stackId}/previews`, auth())).body.items.find(
        (p) => p.status !== "destroyed",
      );
    const previewReaches = (want: string, commit: string) =>
      until(
        `the preview to be ${want} at ${commit.slice(0, 7)}`,
        async () => {
          const p = await preview();
          if (p?.commit === commit && p.status === "failed" && want !== "failed")
            throw new Error(`the preview failed: ${JSON.stringify(p.error)}`);
          return p?.commit === commit && p.status === want ? p : undefined;
        },
        180_000,
        300,
      );

    before(async () => {
      const source = await api.request<{ id: string; webhookSecret: string }>(
        "POST",
        `/v1/stacks/${stackId}/git-sources`,
        { body: { repoUrl: repo.url, ref: "main", path: "compose.yaml" }, headers: auth() },
      );
      expect(source.status, JSON.stringify(source.body)).to.equal(201);
      sourceId = source.body.id;
      webhookSecret = source.body.webhookSecret;
      const settings = await api.request("PUT", `/v1/stacks/${stackId}/preview-settings`, {
        body: { sourceId, templateEnvironmentId: envId, ttlSeconds: 3600, urlHost: "127.0.0.1" },
        headers: auth(),
      });
      expect(settings.status, JSON.stringify(settings.body)).to.equal(200);
    });

    it("waits `building` with no deployment, then deploys the pushed digest to pr-3", async () => {
      const head = commit(
        { "compose.yaml": compose, "app/Dockerfile": dockerfile('RUN echo "preview of PR 3" > /pr') },
        "feature-3",
      );
      const opened = await pullRequest("opened", head);
      expect(opened.status, JSON.stringify(opened.body)).to.equal(202);
      expect(opened.body.preview?.result).to.equal("created");
      const first = opened.body.preview!.preview!;
      expect(first.status).to.equal("building");
      expect(first.buildId, "the preview's build").to.be.a("string");
      expect(first.deploymentId, "nothing deploys before the build").to.equal(null);

      const running = await previewReaches("running", head);
      const build = await getBuild(first.buildId!);
      expect(build.status).to.equal("SUCCEEDED");
      const image = build.images?.app ?? "";
      expect(image).to.match(new RegExp(`^${registry.host}/${stackName}/app@sha256:[0-9a-f]{64}$`));
      expect(running.deploymentId).to.be.a("string");
      const spec = JSON.parse(await docker("service", "inspect", `${stackName}-pr-3_app`)) as Array<{
        Spec: { TaskTemplate: { ContainerSpec: { Image: string } } };
      }>;
      expect(spec[0]?.Spec.TaskTemplate.ContainerSpec.Image, "pr-3 runs the image its build pushed").to.equal(image);
      const audit = await db("audit_events").where({ action: "preview.deploy_built" }).first("data_json");
      expect(audit?.data_json).to.deep.include({ buildId: first.buildId, deploymentId: running.deploymentId });
    });

    it("a push with a broken Dockerfile fails the preview with the build's step, and deploys nothing", async () => {
      const before = await preview();
      const head = commit({ "app/Dockerfile": dockerfile('RUN echo "compiler says: no" && exit 3') }, "feature-3");
      const pushed = await pullRequest("synchronize", head);
      expect(pushed.status, JSON.stringify(pushed.body)).to.equal(202);
      expect(pushed.body.preview?.preview?.status).to.equal("building");
      const failed = await previewReaches("failed", head);
      expect(failed.error?.code).to.equal("BUILD_FAILED");
      expect(failed.error?.message).to.match(/^building app failed: .*RUN echo "compiler says: no" && exit 3/);
      expect(failed.deploymentId, "no deployment of a release that did not build").to.equal(null);
      const deployments = await db("deployments").where({ environment_id: failed.environmentId });
      expect(
        deployments.map((d: { id: string }) => d.id),
        "only the first head's",
      ).to.deep.equal([before?.deploymentId]);
    });

    it("close destroys pr-3", async () => {
      const p = await preview();
      const closed = await pullRequest("closed", p!.commit);
      expect(closed.body.preview?.result).to.equal("destroying");
      await until("pr-3 destroyed", async () => ((await preview()) === undefined ? true : undefined), 120_000, 500);
    });
  });
});
