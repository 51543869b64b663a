/**
 * Preview environments per pull request on the real Swarm (real agent, real control plane, real dockerd, a real
 * git repository over file://, allowed in this suite only). Simulated forge webhooks, signed like GitHub, Gitea
 * and GitLab sign them (and badly): open makes `pr-7` and runs its head, a push redeploys the new head, the quota
 * refuses the next one with PREVIEW_QUOTA_EXCEEDED, close leaves nothing of `pr-7` on the cluster (checked with
 * `docker`), an idle preview past its TTL is reaped. The forge's API is a local HTTP server that records calls.
 *
 * The stack is `h-previews-<random>`; its previews' Swarm stacks are `<stack>-pr-<n>`; `after` removes them.
 */
import { expect } from "chai";
import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { startSwarmWorld, type SwarmWorld } from "../../services/_shared/testing/swarm-world.js";
import { docker, removeStack, testStackCompose } from "../../services/_shared/testing/swarm.js";
import { until } from "../../services/_shared/testing/wait.js";
import { createTestGitRepo, type TestGitRepo } from "../../services/stacks/test-fixtures.js";

interface Preview {
  id: string;
  prNumber: number;
  environmentId: string | null;
  commit: string;
  status: string;
  url: string | null;
  destroyReason: string | null;
  error: { code: string; message: string } | null;
}
interface WebhookAnswer {
  status?: string;
  preview?: { result: string; preview: Preview | null };
  error?: { code: string; message: string };
}
interface RecordedCall {
  method: string;
  path: string;
  authorization: string | undefined;
  body: Record<string, unknown>;
}
interface ServiceInspect {
  Spec: {
    TaskTemplate: {
      ContainerSpec: { Env?: string[] };
      Resources?: { Limits?: { NanoCPUs?: number; MemoryBytes?: number } };
    };
  };
}

const FORGE_TOKEN = `forge-${randomBytes(8).toString("hex")}`;
const PUBLISHED_PORT = 20_000 + Math.floor(Math.random() * 9_000);

describe("preview environments per pull request on a real single-node Swarm (real agent, git, forge recorder)", function () {
  this.timeout(600_000);
  const stackName = `h-previews-${randomBytes(3).toString("hex")}`;
  let world: SwarmWorld;
  let repo: TestGitRepo;
  let recorder: Server;
  const calls: RecordedCall[] = [];
  let stackId: string;
  let sourceId: string;
  let secret: string;
  let templateId: string;

  const auth = () => world.auth();
  const swarmStack = (n: number) => `${stackName}-pr-${n}`;
  const composeAt = (mark: string) =>
    `${testStackCompose({ command: ["sleep", "3600"], replicas: 1, env: { COMMIT_MARK: mark } })}    ports:\n      - "${PUBLISHED_PORT}:80"\n`;
  const commitOn = (branch: string, mark: string): string => {
    repo.git(repo.work, "checkout", "--quiet", "-B", branch);
    mkdirSync(join(repo.work, "deploy"), { recursive: true });
    writeFileSync(join(repo.work, "deploy/compose.yml"), composeAt(mark));
    repo.git(repo.work, "add", ".");
    repo.git(repo.work, "commit", "--quiet", "-m", mark);
    repo.git(repo.work, "push", "--quiet", "--force", repo.bare, branch);
    return repo.git(repo.work, "rev-parse", "HEAD");
  };
  const sign = (key: string, body: string) => createHmac("sha256", key).update(body).digest("hex");
  const github = (action: string, pr: number, sha: string, key = secret, delivery = randomUUID()) => {
    const body = JSON.stringify({
      action,
      number: pr,
      pull_request: { number: pr, title: `PR ${pr}`, merged: false, head: { sha, ref: `feature-${pr}` } },
    });
    return world.api.request<WebhookAnswer>("POST", `/v1/webhooks/git/${sourceId}`, {
      body,
      headers: {
        "content-type": "application/json",
        "x-github-event": "pull_request",
        "x-github-delivery": delivery,
        "x-hub-signature-256": `sha256=${sign(key, body)}`,
      },
    });
  };
  const gitea = (action: string, pr: number, sha: string) => {
    const body = JSON.stringify({
      action,
      number: pr,
      pull_request: { number: pr, title: `PR ${pr}`, merged: false, head: { sha, ref: `feature-${pr}` } },
    });
    return world.api.request<WebhookAnswer>("POST", `/v1/webhooks/git/${sourceId}`, {
      body,
      headers: {
        "content-type": "application/json",
        "x-gitea-event": "pull_request",
        "x-gitea-delivery": randomUUID(),
        "x-gitea-signature": sign(secret, body),
      },
    });
  };
  const gitlab = (action: string, iid: number, sha: string) => {
    const body = JSON.stringify({
      object_kind: "merge_request",
      object_attributes: { iid, action, title: `MR ${iid}`, source_branch: `feature-${iid}`, last_commit: { id: sha } },
    });
    return world.api.request<WebhookAnswer>("POST", `/v1/webhooks/git/${sourceId}`, {
      body,
      headers: {
        "content-type": "application/json",
        "x-gitlab-event": "Merge Request Hook",
        "x-gitlab-event-uuid": randomUUID(),
        "x-gitlab-token": secret,
      },
    });
  };
  const previews = async () =>
    (
      await world.api.get<{ items: Preview[]; quota: { limit: number; live: number } }>(
        `/v1/stacks/${stackId}/previews`,
        auth(),
      )
    ).body;
  const previewOf = async (pr: number) =>
    (await previews()).items.find((p) => p.prNumber === pr && p.status !== "destroyed");
  const waitForStatus = (pr: number, want: string, commit?: string) =>
    until(
      `preview pr-${pr} to be ${want}`,
      async () => {
        const p = (await previews()).items.find((x) => x.prNumber === pr);
        if (p?.status === "failed" && want !== "failed") throw new Error(`pr-${pr} failed: ${JSON.stringify(p.error)}`);
        return p?.status === want && (commit === undefined || p.commit === commit) ? p : undefined;
      },
      180_000,
      300,
    );
  const runningMark = async (pr: number): Promise<string | null> => {
    const out = await docker("service", "inspect", `${swarmStack(pr)}_app`).catch(() => "[]");
    const env = (JSON.parse(out) as ServiceInspect[])[0]?.Spec.TaskTemplate.ContainerSpec.Env ?? [];
    return env.find((e) => e.startsWith("COMMIT_MARK="))?.slice("COMMIT_MARK=".length) ?? null;
  };
  /** Everything on the cluster that belongs to the preview: by stack namespace and by ownership label. */
  const leftOnCluster = async (pr: number, environmentId: string) => {
    const lines = async (...args: string[]) => (await docker(...args)).split("\n").filter(Boolean);
    const ns = `label=com.docker.stack.namespace=${swarmStack(pr)}`;
    const owned = `label=io.stackyard.environment=${environmentId}`;
    return [
      ...(await lines("service", "ls", "--filter", ns, "--format", "service {{.Name}}")),
      ...(await lines("service", "ls", "--filter", owned, "--format", "service {{.Name}}")),
      ...(await lines("network", "ls", "--filter", ns, "--format", "network {{.Name}}")),
      ...(await lines("secret", "ls", "--filter", owned, "--format", "secret {{.Name}}")),
      ...(await lines("config", "ls", "--filter", owned, "--format", "config {{.Name}}")),
      ...(await lines("ps", "-a", "--filter", ns, "--format", "container {{.Names}}")),
    ];
  };

  before(async function () {
    this.timeout(300_000);
    recorder = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        calls.push({
          method: req.method ?? "",
          path: req.url ?? "",
          authorization: req.headers.authorization,
          body: JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as Record<string, unknown>,
        });
        res.writeHead(201, { "content-type": "application/json" }).end("{}");
      });
    });
    await new Promise<void>((resolve) => recorder.listen(0, "127.0.0.1", resolve));
    const forgePort = (recorder.address() as AddressInfo).port;
    world = await startSwarmWorld({
      clusterName: "h-previews-swarm",
      env: {
        GIT_ALLOWED_SCHEMES: "file",
        PREVIEW_QUOTA_PER_ORG: "1",
        PREVIEW_REAPER_TICK_MS: "500",
        STACKYARD_TEST_FORGE_ALLOW_HOSTS: `127.0.0.1:${forgePort}`,
      },
    });
    repo = createTestGitRepo("h-previews-repo-");
    commitOn("main", "main");
    stackId = await world.createStack(stackName);
    const template = await world.createEnvironment(stackId, "tmpl");
    templateId = template.id;
    for (const [name, value] of [
      ["api-key", "copied-value"],
      ["not-copied", "stays-in-template"],
    ] as const) {
      const put = await world.api.request("PUT", `/v1/environments/${templateId}/secrets/${name}`, {
        body: { value },
        headers: auth(),
      });
      expect(put.status, JSON.stringify(put.body)).to.be.oneOf([200, 201]);
    }
    const created = await world.api.request<{ id: string; webhookSecret: string }>(
      "POST",
      `/v1/stacks/${stackId}/git-sources`,
      { body: { repoUrl: repo.url, ref: "main", path: "deploy/compose.yml" }, headers: auth() },
    );
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    sourceId = created.body.id;
    secret = created.body.webhookSecret;
    const settings = await world.api.request<{ forge: { tokenSet: boolean } | null }>(
      "PUT",
      `/v1/stacks/${stackId}/preview-settings`,
      {
        body: {
          sourceId,
          templateEnvironmentId: templateId,
          copySecrets: ["api-key"],
          limits: { cpus: "0.5", memory: "64m" },
          ttlSeconds: 3600,
          urlHost: "127.0.0.1",
          forge: { kind: "github", apiUrl: `http://127.0.0.1:${forgePort}`, repo: "acme/shop", token: FORGE_TOKEN },
        },
        headers: auth(),
      },
    );
    expect(settings.status, JSON.stringify(settings.body)).to.equal(200);
    expect(settings.body.forge?.tokenSet).to.equal(true);
    expect(JSON.stringify(settings.body)).not.to.include(FORGE_TOKEN);
  });

  after(async function () {
    this.timeout(180_000);
    for (const n of [7, 8, 9]) await removeStack(swarmStack(n)).catch((err: unknown) => console.error(String(err)));
    await world?.stop();
    await new Promise((resolve) => recorder?.close(resolve));
    if (repo) await rm(repo.root, { recursive: true, force: true });
  });

  afterEach(function () {
    if (this.currentTest?.state === "failed" && world) {
      console.error(`--- agent output (last 60 lines) ---\n${world.agent.output.slice(-60).join("\n")}`);
    }
  });

  let firstCommit: string;
  let pr7Environment: string;

  it("refuses a badly signed pull-request webhook with 401 and creates nothing", async () => {
    firstCommit = commitOn("feature-7", "one");
    const bad = await github("opened", 7, firstCommit, "not-the-secret");
    expect(bad.status).to.equal(401);
    expect(bad.body.error?.code).to.equal("WEBHOOK_SIGNATURE_INVALID");
    expect((await previews()).items).to.have.length(0);
  });

  it("open → pr-7 exists with its own Swarm stack and runs the PR head, with the copied secret and the limits", async () => {
    const delivery = randomUUID();
    const open = await github("opened", 7, firstCommit, secret, delivery);
    expect(open.status, JSON.stringify(open.body)).to.equal(202);
    expect(open.body.preview?.result).to.equal("created");
    const running = await waitForStatus(7, "running", firstCommit);
    expect(running.url).to.equal(`http://127.0.0.1:${PUBLISHED_PORT}`);
    pr7Environment = running.environmentId ?? "";
    expect(await runningMark(7)).to.equal("one");
    const env = await world.api.get<{ name: string; swarmStack: string }>(`/v1/environments/${pr7Environment}`, auth());
    expect(env.body).to.include({ name: "pr-7", swarmStack: swarmStack(7) });
    const secrets = await world.api.get<{ items: Array<{ name: string }> }>(
      `/v1/environments/${pr7Environment}/secrets`,
      auth(),
    );
    expect(secrets.body.items.map((s) => s.name)).to.deep.equal(["api-key"]);
    const spec = (JSON.parse(await docker("service", "inspect", `${swarmStack(7)}_app`)) as ServiceInspect[])[0];
    expect(spec?.Spec.TaskTemplate.Resources?.Limits).to.deep.include({
      NanoCPUs: 500_000_000,
      MemoryBytes: 64 * 1024 * 1024,
    });

    const replay = await github("opened", 7, firstCommit, secret, delivery);
    expect(replay.status).to.equal(202);
    expect(replay.body.status).to.equal("duplicate");
  });

  it("push (synchronize) → redeployed with the new head commit", async () => {
    const second = commitOn("feature-7", "two");
    const sync = await github("synchronize", 7, second);
    expect(sync.status, JSON.stringify(sync.body)).to.equal(202);
    expect(sync.body.preview?.result).to.equal("redeployed");
    await waitForStatus(7, "running", second);
    expect(await runningMark(7)).to.equal("two");
  });

  it("the quota refuses the next preview with 409 PREVIEW_QUOTA_EXCEEDED and a clear message", async () => {
    const head = commitOn("feature-8", "eight");
    const refused = await github("opened", 8, head);
    expect(refused.status).to.equal(409);
    expect(refused.body.error?.code).to.equal("PREVIEW_QUOTA_EXCEEDED");
    expect(refused.body.error?.message).to.match(/quota is 1/);
    expect((await previews()).quota).to.deep.equal({ limit: 1, live: 1 });
    expect(await previewOf(8)).to.equal(undefined);
  });

  it("posted pending and success commit statuses and a PR comment to the forge with the stored token", async () => {
    await until(
      "the success status of the second commit",
      async () => {
        const last = calls.filter((c) => c.path.includes("/statuses/")).at(-1);
        return last?.body.state === "success" ? true : undefined;
      },
      30_000,
      200,
    );
    const statuses = calls.filter((c) => c.path.startsWith("/repos/acme/shop/statuses/"));
    expect(statuses.map((c) => `${c.path.split("/").at(-1)?.slice(0, 7)} ${String(c.body.state)}`)).to.include.members([
      `${firstCommit.slice(0, 7)} pending`,
      `${firstCommit.slice(0, 7)} success`,
    ]);
    expect(statuses.every((c) => c.method === "POST" && c.authorization === `Bearer ${FORGE_TOKEN}`)).to.equal(true);
    expect(statuses.find((c) => c.body.state === "success")?.body.target_url).to.equal(
      `http://127.0.0.1:${PUBLISHED_PORT}`,
    );
    const comments = calls.filter((c) => c.path === "/repos/acme/shop/issues/7/comments");
    expect(comments.length).to.be.greaterThan(0);
    expect(String(comments[0]?.body.body)).to.include(`http://127.0.0.1:${PUBLISHED_PORT}`);
  });

  it("close (Gitea-signed) → nothing of pr-7 is left on the cluster", async () => {
    const p = await previewOf(7);
    const close = await gitea("closed", 7, p?.commit ?? firstCommit);
    expect(close.status, JSON.stringify(close.body)).to.equal(202);
    expect(close.body.preview?.result).to.equal("destroying");
    const destroyed = await waitForStatus(7, "destroyed");
    expect(destroyed.destroyReason).to.equal("closed");
    await until(
      "nothing of pr-7 on the cluster",
      async () => ((await leftOnCluster(7, pr7Environment)).length === 0 ? true : undefined),
      60_000,
      500,
    );
    const envs = await world.api.get<{ items: Array<{ name: string }> }>(`/v1/stacks/${stackId}/environments`, auth());
    expect(envs.body.items.map((e) => e.name)).to.deep.equal(["tmpl"]);
  });

  it("an idle preview past its TTL is reaped (GitLab-opened)", async () => {
    const head = commitOn("feature-9", "nine");
    const open = await gitlab("open", 9, head);
    expect(open.status, JSON.stringify(open.body)).to.equal(202);
    const running = await waitForStatus(9, "running", head);
    expect(await runningMark(9)).to.equal("nine");
    // Idle for two hours, as far as the reaper can tell (the TTL is one hour).
    await world
      .db("previews")
      .where({ id: running.id })
      .update({ last_activity_at: world.db.raw("now() - interval '2 hours'") });
    const reaped = await waitForStatus(9, "destroyed");
    expect(reaped.destroyReason).to.equal("idle past its TTL");
    await until(
      "nothing of pr-9 on the cluster",
      async () => ((await leftOnCluster(9, running.environmentId ?? "")).length === 0 ? true : undefined),
      60_000,
      500,
    );
    const audit = await world
      .db("audit_events")
      .where({ action: "preview.destroy" })
      .count<Array<{ count: string }>>("* as count");
    expect(Number(audit[0]?.count)).to.equal(2);
  });
});
