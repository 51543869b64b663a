/**
 * Git auto-sync at service level: the real gateway, Postgres, NATS/JetStream, deploy worker and event writer, a
 * real git repository (file://, allowed by GIT_ALLOWED_SCHEMES in this suite only); the agent is the scripted
 * stand-in that reports success. Poll, path-scoped releases, signed webhooks, replay, pin by rollback, unpin.
 */
import { createHmac, randomUUID } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import type { Db } from "../../_shared/db.js";
import { startFakeAgent, type FakeAgent } from "../../_shared/testing/fake-agent.js";
import { createOrgWithAdmin, uniqueName, type TestOrg } from "../../_shared/testing/fixtures.js";
import type { ContractClient } from "../../_shared/testing/http.js";
import type { TestNatsServer } from "../../_shared/testing/nats-server.js";
import type { TestPlatform } from "../../_shared/testing/platform.js";
import { sleep, until } from "../../_shared/testing/wait.js";
import { startTestStack, stopTestStack } from "../../_shared/testing/stack.js";
import type { CommandEnvelope, DeployStack } from "../../../nats/protocol/messages.js";
import { createTestGitRepo, type TestGitRepo } from "../test-fixtures.js";

interface Deployment {
  id: string;
  status: string;
  releaseId: string;
  kind: string;
  createdByType: string | null;
  autoSyncPinned?: { reason: string };
}
interface Source {
  id: string;
  lastCommit: string | null;
  lastReleaseId: string | null;
  webhookUrl: string;
  webhookSecret?: string;
}
interface Environment {
  id: string;
  sync: { mode: string; sourceId: string | null; pinned: { reason: string } | null };
}

const compose = (tag: string) => `services:\n  web:\n    image: nginx:${tag}\n`;

describe("git auto-sync (real gateway, Postgres, JetStream, git; scripted agent)", function () {
  this.timeout(180_000);
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let db: Db;
  let api: ContractClient;
  let org: TestOrg;
  let agent: FakeAgent;
  let repo: TestGitRepo;

  const commit = (file: string, content: string, message: string): string => {
    mkdirSync(join(repo.work, file, ".."), { recursive: true });
    writeFileSync(join(repo.work, file), content);
    repo.git(repo.work, "add", ".");
    repo.git(repo.work, "commit", "--quiet", "-m", message);
    repo.git(repo.work, "push", "--quiet", repo.bare, "main");
    return repo.git(repo.work, "rev-parse", "HEAD");
  };
  const deploymentsOf = async (envId: string) =>
    (await api.get<{ items: Deployment[] }>(`/v1/environments/${envId}/deployments`, org.admin.auth)).body.items;
  const source = async (id: string) => (await api.get<Source>(`/v1/git-sources/${id}`, org.admin.auth)).body;
  const releasesOf = async (stackId: string) =>
    (await api.get<{ items: Array<{ id: string; version: number }> }>(`/v1/stacks/${stackId}/releases`, org.admin.auth))
      .body.items;
  const succeededWith = (envId: string, releaseId: string) =>
    until(
      `a SUCCEEDED deployment of ${releaseId}`,
      async () => (await deploymentsOf(envId)).find((d) => d.releaseId === releaseId && d.status === "SUCCEEDED"),
      60_000,
      200,
    );

  async function makeEnvironment(pollIntervalSeconds: number) {
    const stack = await api.request<{ id: string }>("POST", `/v1/orgs/${org.orgId}/stacks`, {
      body: { name: uniqueName("sync").replace(/[^a-z0-9-]/g, "") },
      headers: org.admin.auth,
    });
    const env = await api.request<{ id: string }>("POST", `/v1/stacks/${stack.body.id}/environments`, {
      body: { name: "prod", clusterId: agent.clusterId },
      headers: org.admin.auth,
    });
    const created = await api.request<Source>("POST", `/v1/stacks/${stack.body.id}/git-sources`, {
      body: { repoUrl: repo.url, ref: "main", path: "deploy/compose.yml", pollIntervalSeconds },
      headers: org.admin.auth,
    });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    expect(created.body.webhookSecret).to.match(/^whsec_/);
    const set = await api.request<Environment>("PUT", `/v1/environments/${env.body.id}/sync`, {
      body: { mode: "automatic", sourceId: created.body.id },
      headers: org.admin.auth,
    });
    expect(set.status, JSON.stringify(set.body)).to.equal(200);
    expect(set.body.sync).to.deep.equal({ mode: "automatic", sourceId: created.body.id, pinned: null });
    return { stackId: stack.body.id, envId: env.body.id, source: created.body };
  }

  before(async () => {
    ({ db, nats, platform, api } = await startTestStack({ GIT_ALLOWED_SCHEMES: "file", GIT_SYNC_TICK_MS: "250" }));
    org = await createOrgWithAdmin(api);
    agent = await startFakeAgent(api, nats.url, { orgId: org.orgId, auth: org.admin.auth }, "fake");
    const start = (command: CommandEnvelope) => {
      const p = command.payload as unknown as DeployStack;
      setTimeout(() => {
        void agent.emit(p.deploymentId, p.firstSeq, "deployment succeeded", {
          outcome: "succeeded",
          data: { status: "SUCCEEDED", stackChanged: true },
        });
      }, 50);
      return { deploymentId: p.deploymentId, status: "started" };
    };
    agent.handlers.set("DeployStack", start);
    agent.handlers.set("RollbackStack", start);
    repo = createTestGitRepo("stackyard-sync-test-");
    commit("deploy/compose.yml", compose("1.25"), "v1");
  });

  after(async () => {
    await agent?.close();
    await stopTestStack({ db, nats, platform });
    if (repo) rmSync(repo.root, { recursive: true, force: true });
  });

  it("polls: deploys the path's commits, skips commits elsewhere, and a manual rollback pins until unpinned", async () => {
    const { stackId, envId, source: created } = await makeEnvironment(5);
    expect(created.webhookUrl).to.match(new RegExp(`/v1/webhooks/git/${created.id}$`));
    const read = await api.get<Source>(`/v1/git-sources/${created.id}`, org.admin.auth);
    expect(read.body).to.not.have.property("webhookSecret");

    // The first poll releases the newest commit and deploys it.
    const first = await until("the first release", async () => (await source(created.id)).lastReleaseId ?? undefined);
    const d1 = await succeededWith(envId, first);
    expect(d1.createdByType).to.equal("system");
    const audit = await db("audit_events").where({ action: "deployment.auto_sync", target_id: d1.id }).first();
    expect(audit.data_json.commit).to.equal((await source(created.id)).lastCommit);

    // A commit outside the watched directory: seen, no release, no deployment.
    const elsewhere = commit("docs/README.md", "hello\n", "docs");
    await until(
      "the docs commit to be seen",
      async () => ((await source(created.id)).lastCommit === elsewhere ? true : undefined),
      30_000,
      200,
    );
    expect((await releasesOf(stackId)).length).to.equal(1);
    expect((await deploymentsOf(envId)).length).to.equal(1);

    // A commit under it (a file beside the compose counts): a release and its deployment, within one interval.
    const changed = commit("deploy/compose.yml", compose("1.26"), "v2");
    const second = await until(
      "the second release",
      async () => {
        const s = await source(created.id);
        return s.lastCommit === changed && s.lastReleaseId !== first ? (s.lastReleaseId ?? undefined) : undefined;
      },
      30_000,
      200,
    );
    await succeededWith(envId, second);
    const releaseAudit = await db("audit_events").where({ action: "release.create", target_id: second }).first();
    expect(releaseAudit).to.deep.include({ actor_type: "system" });
    expect(releaseAudit.data_json.commit).to.equal(changed);

    // A manual rollback pins the environment and says so.
    const rollback = await api.request<Deployment>("POST", `/v1/environments/${envId}/rollback`, {
      body: { releaseId: first },
      headers: org.admin.auth,
    });
    expect(rollback.status, JSON.stringify(rollback.body)).to.equal(202);
    expect(rollback.body.autoSyncPinned?.reason).to.match(/manual rollback to release v1/);
    await until("the rollback to end", async () =>
      (await deploymentsOf(envId)).find((d) => d.id === rollback.body.id && d.status === "SUCCEEDED"),
    );
    const env = await api.get<Environment>(`/v1/environments/${envId}`, org.admin.auth);
    expect(env.body.sync.pinned?.reason).to.match(/manual rollback/);

    // The next commit is released but not deployed while pinned.
    const third = commit("deploy/compose.yml", compose("1.27"), "v3");
    const thirdRelease = await until(
      "the third release",
      async () => {
        const s = await source(created.id);
        return s.lastCommit === third ? (s.lastReleaseId ?? undefined) : undefined;
      },
      30_000,
      200,
    );
    await sleep(1_000);
    expect((await deploymentsOf(envId)).map((d) => d.releaseId)).to.not.include(thirdRelease);

    // Unpin resumes from the newest commit at once.
    const unpin = await api.request<{ deploymentIds: string[] }>("DELETE", `/v1/environments/${envId}/pin`, {
      headers: org.admin.auth,
    });
    expect(unpin.status, JSON.stringify(unpin.body)).to.equal(200);
    expect(unpin.body.deploymentIds).to.have.length(1);
    await succeededWith(envId, thirdRelease);
    const again = await api.request("DELETE", `/v1/environments/${envId}/pin`, { headers: org.admin.auth });
    expect(again.status).to.equal(409);
  });

  it("webhooks: a signed GitHub delivery triggers at once, a bad signature is 401 and does nothing, a replay is ignored", async () => {
    // An hour between polls: only the webhook can make the second commit's deployment happen in this test.
    const { envId, source: created } = await makeEnvironment(3600);
    const secret = created.webhookSecret ?? "";
    const first = await until("the first release", async () => (await source(created.id)).lastReleaseId ?? undefined);
    await succeededWith(envId, first);
    const changed = commit("deploy/compose.yml", compose(`1.${Date.now() % 1000}`), "hook");
    const path = `/v1/webhooks/git/${created.id}`;
    const body = JSON.stringify({ ref: "refs/heads/main", after: changed });
    const sign = (s: string) => `sha256=${createHmac("sha256", s).update(body).digest("hex")}`;
    const post = (headers: Record<string, string>, payload = body) =>
      api.request<{ status?: string; error?: { code: string } }>("POST", path, {
        body: payload,
        headers: { "content-type": "application/json", "x-github-event": "push", ...headers },
      });

    const bad = await post({ "x-hub-signature-256": sign("wrong-secret"), "x-github-delivery": randomUUID() });
    expect(bad.status).to.equal(401);
    expect(bad.body.error?.code).to.equal("WEBHOOK_SIGNATURE_INVALID");
    const unsigned = await post({ "x-github-delivery": randomUUID() });
    expect(unsigned.status).to.equal(401);
    const unknown = await api.request<{ error?: { code: string } }>("POST", `/v1/webhooks/git/${randomUUID()}`, {
      body,
      headers: { "content-type": "application/json", "x-hub-signature-256": sign(secret) },
    });
    expect(unknown.status).to.equal(401);
    expect(await db("git_webhook_deliveries").where({ source_id: created.id })).to.have.length(0);
    await sleep(1_000);
    expect((await source(created.id)).lastCommit).to.not.equal(changed);

    const delivery = randomUUID();
    const good = await post({ "x-hub-signature-256": sign(secret), "x-github-delivery": delivery });
    expect(good.status, JSON.stringify(good.body)).to.equal(202);
    expect(good.body.status).to.equal("accepted");
    const released = await until(
      "the webhook's release",
      async () => {
        const s = await source(created.id);
        return s.lastCommit === changed ? (s.lastReleaseId ?? undefined) : undefined;
      },
      30_000,
      200,
    );
    await succeededWith(envId, released);

    const replay = await post({ "x-hub-signature-256": sign(secret), "x-github-delivery": delivery });
    expect(replay.status).to.equal(202);
    expect(replay.body.status).to.equal("duplicate");
    const audits = await db("audit_events").where({ action: "git_sync.webhook", target_type: "stack" });
    expect(
      audits.filter((a: { data_json: { deliveryId: string } }) => a.data_json.deliveryId === `github:${delivery}`),
    ).to.have.length(1);

    const large = await post({ "x-hub-signature-256": sign(secret) }, "x".repeat(300 * 1024));
    expect(large.status).to.equal(413);
  });
});
