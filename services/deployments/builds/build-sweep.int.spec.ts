/**
 * The build sweep of the deployments process, on the real control plane, Postgres and NATS (a scripted agent
 * that never reports on builds): a build past its timeout with no end reported ends FAILED BUILD_LOST and fails
 * the preview that waited for it; a preview left `building` on a build that had ended (the process stopped between
 * the build's end and the preview's next step) is continued, and deploys.
 */
import { expect } from "chai";
import { writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { Db } from "../../_shared/db.js";
import { startFakeAgent, type FakeAgent } from "../../_shared/testing/fake-agent.js";
import { createOrgWithAdmin, uniqueName, type TestOrg } from "../../_shared/testing/fixtures.js";
import type { ContractClient } from "../../_shared/testing/http.js";
import type { TestNatsServer } from "../../_shared/testing/nats-server.js";
import type { TestPlatform } from "../../_shared/testing/platform.js";
import { startTestStack, stopTestStack } from "../../_shared/testing/stack.js";
import { until } from "../../_shared/testing/wait.js";
import type { DeployStack } from "../../../nats/protocol/messages.js";
import { TenantScope } from "../../_shared/tenant.js";
import { createRelease } from "../../stacks/releases-repo.js";
import { createTestGitRepo, type TestGitRepo } from "../../stacks/test-fixtures.js";

interface Preview {
  status: string;
  deploymentId: string | null;
  error: { code: string; message: string } | null;
}

describe("build sweep: lost builds and previews left building (real control plane, Postgres, NATS)", function () {
  this.timeout(60_000);
  let db: Db;
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let api: ContractClient;
  let org: TestOrg;
  let agent: FakeAgent;
  let stackId: string;
  let templateId: string;
  let repo: TestGitRepo;

  before(async () => {
    ({ db, nats, platform, api } = await startTestStack({
      PREVIEW_REAPER_TICK_MS: "300",
      GIT_ALLOWED_SCHEMES: "file",
    }));
    org = await createOrgWithAdmin(api);
    agent = await startFakeAgent(api, nats.url, { orgId: org.orgId, auth: org.admin.auth }, "sweep");
    agent.handlers.set("DeployStack", (command) => {
      const p = command.payload as unknown as DeployStack;
      setTimeout(() => void agent.emit(p.deploymentId, p.firstSeq, "converged", { outcome: "succeeded" }), 50);
      return { deploymentId: p.deploymentId, status: "started" };
    });
    const stack = await api.request<{ id: string }>("POST", `/v1/orgs/${org.orgId}/stacks`, {
      body: { name: uniqueName("sweep").replace(/[^a-z0-9-]/g, "") },
      headers: org.admin.auth,
    });
    stackId = stack.body.id;
    templateId = await environment("tmpl");
    // Previews enabled (a preview of a stack without settings is reaped at once).
    repo = createTestGitRepo("build-sweep-repo-");
    writeFileSync(join(repo.work, "docker-compose.yml"), "services:\n  app:\n    image: app:1\n");
    repo.git(repo.work, "checkout", "--quiet", "-B", "main");
    repo.git(repo.work, "add", ".");
    repo.git(repo.work, "commit", "--quiet", "-m", "compose");
    repo.git(repo.work, "push", "--quiet", repo.bare, "main");
    const source = await api.request<{ id: string }>("POST", `/v1/stacks/${stackId}/git-sources`, {
      body: { repoUrl: repo.url, ref: "main", path: "docker-compose.yml" },
      headers: org.admin.auth,
    });
    expect(source.status, JSON.stringify(source.body)).to.equal(201);
    const settings = await api.request("PUT", `/v1/stacks/${stackId}/preview-settings`, {
      body: { sourceId: source.body.id, templateEnvironmentId: templateId, ttlSeconds: 3600 },
      headers: org.admin.auth,
    });
    expect(settings.status, JSON.stringify(settings.body)).to.equal(200);
  });
  after(async () => {
    await agent?.close();
    await stopTestStack({ db, nats, platform });
    if (repo) await rm(repo.root, { recursive: true, force: true });
  });

  async function environment(name: string): Promise<string> {
    const env = await api.request<{ id: string }>("POST", `/v1/stacks/${stackId}/environments`, {
      body: { name, clusterId: agent.clusterId },
      headers: org.admin.auth,
    });
    expect(env.status, JSON.stringify(env.body)).to.equal(201);
    return env.body.id;
  }

  /** A release and its build as buildReleaseFromSource leaves them (the release `building`), then as given. */
  async function releaseWithBuild(build: { status: string; age: string; releaseState: string }) {
    const release = await createRelease(new TenantScope(db, org.orgId), {
      stackId,
      sourceType: "git",
      sourceRef: "file:///repo@main:compose.yaml",
      composeYaml: `services:\n  app:\n    image: registry.test/app@sha256:${"b".repeat(64)}\n`,
      warnings: [],
      createdBy: null,
      manifest: null,
      building: true,
    });
    // building → its end is the one change the release's immutability trigger allows.
    if (build.releaseState !== "building")
      await db("stack_releases").where({ id: release.id }).update({ build_status: build.releaseState });
    const [row] = (await db("release_builds")
      .insert({
        org_id: org.orgId,
        release_id: release.id,
        environment_id: templateId,
        cluster_id: agent.clusterId,
        status: build.status,
        commit: "c".repeat(40),
        registry: "registry.test",
        created_at: db.raw(`now() - interval '${build.age}'`),
        ...(build.status === "SUCCEEDED" ? { finished_at: db.raw("now() - interval '1 minute'") } : {}),
      })
      .returning("id")) as Array<{ id: string }>;
    return { releaseId: release.id, buildId: row!.id };
  }

  async function previewBuilding(prNumber: number, releaseId: string, buildId: string): Promise<string> {
    const environmentId = await environment(`pr-${prNumber}`);
    const [row] = (await db("previews")
      .insert({
        org_id: org.orgId,
        stack_id: stackId,
        environment_id: environmentId,
        pr_number: prNumber,
        branch: `feature-${prNumber}`,
        head_commit: "c".repeat(40),
        release_id: releaseId,
        build_id: buildId,
        status: "building",
      })
      .returning("id")) as Array<{ id: string }>;
    return row!.id;
  }

  const previewReaches = (id: string, statuses: string[]) =>
    until(
      `preview ${id} to be ${statuses.join(" or ")}`,
      async () => {
        const list = await api.get<{ items: Array<Preview & { id: string }> }>(
          `/v1/stacks/${stackId}/previews`,
          org.admin.auth,
        );
        const p = list.body.items.find((x) => x.id === id);
        return p && statuses.includes(p.status) ? p : undefined;
      },
      20_000,
      200,
    );

  it("ends a build past its timeout with no end reported BUILD_LOST, and fails the preview waiting for it", async () => {
    const { releaseId, buildId } = await releaseWithBuild({
      status: "RUNNING",
      age: "0 seconds",
      releaseState: "building",
    });
    const previewId = await previewBuilding(11, releaseId, buildId);
    // Aged past its timeout once the preview waits for it (the sweep runs every 300 ms).
    await db("release_builds")
      .where({ id: buildId })
      .update({ created_at: db.raw("now() - interval '2 days'") });
    const failed = await previewReaches(previewId, ["failed"]);
    expect(failed.error?.code).to.equal("BUILD_LOST");
    expect(failed.error?.message).to.match(/^building failed: the agent did not report the end of the build/);
    expect(failed.deploymentId).to.equal(null);
    const build = await api.get<{ status: string; errorCode: string }>(`/v1/builds/${buildId}`, org.admin.auth);
    expect(build.body).to.include({ status: "FAILED", errorCode: "BUILD_LOST" });
    const release = await api.get<{ state: string }>(`/v1/releases/${releaseId}`, org.admin.auth);
    expect(release.body.state).to.equal("failed");
    const last = (await db("release_build_events").where({ build_id: buildId }).orderBy("seq", "desc").first()) as
      { data_json: Record<string, unknown> } | undefined;
    expect(last?.data_json).to.deep.include({ terminal: true, status: "FAILED", code: "BUILD_LOST" });
  });

  it("leaves a build within its timeout alone", async () => {
    const { buildId } = await releaseWithBuild({ status: "RUNNING", age: "1 minute", releaseState: "building" });
    await new Promise((r) => setTimeout(r, 1_500)); // several sweeps
    const build = await api.get<{ status: string }>(`/v1/builds/${buildId}`, org.admin.auth);
    expect(build.body.status).to.equal("RUNNING");
  });

  it("continues a preview left building on a build that succeeded: it deploys the release", async () => {
    const { releaseId, buildId } = await releaseWithBuild({
      status: "SUCCEEDED",
      age: "5 minutes",
      releaseState: "ready",
    });
    const previewId = await previewBuilding(12, releaseId, buildId);
    const running = await previewReaches(previewId, ["running"]);
    expect(running.deploymentId).to.be.a("string");
    const deployment = await api.get<{ status: string; releaseId: string }>(
      `/v1/deployments/${running.deploymentId}`,
      org.admin.auth,
    );
    expect(deployment.body).to.include({ status: "SUCCEEDED", releaseId });
    const audit = (await db("audit_events").where({ action: "preview.deploy_built", org_id: org.orgId })) as Array<{
      data_json: Record<string, unknown>;
    }>;
    expect(audit.map((a) => a.data_json.buildId)).to.deep.equal([buildId]);
  });
});
