/**
 * Git auto-sync on the real Swarm (real agent, real control plane, real dockerd, a real git repository over
 * file://, allowed in this suite only): a commit that changes the watched directory is deployed within one poll
 * interval (the service's env var shows which commit runs), a commit elsewhere is not, a signed webhook triggers
 * at once, a manual rollback pins until unpinned.
 *
 * The stack is `gs<random>`, its environment `prod`, so the Swarm stack is `gs<random>-prod`; `after` removes it.
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
import {
  docker,
  prepareSwarm,
  removeStack,
  spawnAgent,
  stopAgent,
  testStackCompose as compose,
  type AgentProcess,
} from "../../services/_shared/testing/swarm.js";
import { sleep, until as untilEvery } from "../../services/_shared/testing/wait.js";
import { startTestStack, stopTestStack } from "../../services/_shared/testing/stack.js";
import { createTestGitRepo, type TestGitRepo } from "../../services/stacks/test-fixtures.js";

const POLL_MS = 300;
/** The source's poll interval in this suite: short, so "within one interval" is quick to prove. */
const INTERVAL_SECONDS = 5;
const until = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> =>
  untilEvery(what, probe, timeoutMs, POLL_MS);

interface Deployment {
  id: string;
  status: string;
  releaseId: string;
  createdByType: string | null;
  autoSyncPinned?: { reason: string };
}
interface Source {
  id: string;
  lastCommit: string | null;
  lastReleaseId: string | null;
  webhookSecret?: string;
}
interface ServiceSpec {
  Spec: { TaskTemplate: { ContainerSpec: { Env?: string[] } } };
}

describe("git auto-sync on a real single-node Swarm (real agent, real control plane, real git)", function () {
  this.timeout(300_000);
  const stackName = `gs${randomBytes(4).toString("hex")}`;
  const swarmService = `${stackName}-prod_app`;
  let db: Db;
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let api: ContractClient;
  let org: TestOrg;
  let stateDir: string;
  let agent: AgentProcess | null = null;
  let repo: TestGitRepo;
  let envId: string;
  let source: Source;

  const auth = () => org.admin.auth;
  const composeAt = (mark: string) => compose({ command: ["sleep", "3600"], replicas: 1, env: { COMMIT_MARK: mark } });
  const push = (file: string, content: string): string => {
    mkdirSync(join(repo.work, file, ".."), { recursive: true });
    writeFileSync(join(repo.work, file), content);
    repo.git(repo.work, "add", ".");
    repo.git(repo.work, "commit", "--quiet", "-m", file);
    repo.git(repo.work, "push", "--quiet", repo.bare, "main");
    return repo.git(repo.work, "rev-parse", "HEAD");
  };
  const runningMark = async (): Promise<string | null> => {
    const out = await docker("service", "inspect", swarmService).catch(() => "[]");
    const spec = (JSON.parse(out) as ServiceSpec[])[0];
    const env = spec?.Spec.TaskTemplate.ContainerSpec.Env ?? [];
    return env.find((e) => e.startsWith("COMMIT_MARK="))?.slice("COMMIT_MARK=".length) ?? null;
  };
  const deployments = async () =>
    (await api.get<{ items: Deployment[] }>(`/v1/environments/${envId}/deployments`, auth())).body.items;
  const getSource = async () => (await api.get<Source>(`/v1/git-sources/${source.id}`, auth())).body;
  const settled = () =>
    until(
      "no deployment in flight",
      async () =>
        (await deployments()).every((d) => d.status !== "PENDING" && d.status !== "RUNNING") ? true : undefined,
      120_000,
    );

  before(async function () {
    this.timeout(240_000);
    await prepareSwarm();
    ({ db, nats, platform, api } = await startTestStack({ GIT_ALLOWED_SCHEMES: "file", GIT_SYNC_TICK_MS: "500" }));
    org = await createOrgWithAdmin(api);
    stateDir = await mkdtemp(join(tmpdir(), "stackyard-gs-agent-"));
    const cluster = await api.request<{ cluster: { id: string }; registrationToken: string }>(
      "POST",
      `/v1/orgs/${org.orgId}/clusters`,
      { body: { name: "gs-swarm" }, headers: auth() },
    );
    expect(cluster.status).to.equal(201);
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
    repo = createTestGitRepo("stackyard-gs-repo-");
    push("deploy/compose.yml", composeAt("one"));
    const stack = await api.request<{ id: string }>("POST", `/v1/orgs/${org.orgId}/stacks`, {
      body: { name: stackName },
      headers: auth(),
    });
    const env = await api.request<{ id: string }>("POST", `/v1/stacks/${stack.body.id}/environments`, {
      body: { name: "prod", clusterId: cluster.body.cluster.id, imageResolution: "never", deployTimeoutSeconds: 60 },
      headers: auth(),
    });
    envId = env.body.id;
    const created = await api.request<Source>("POST", `/v1/stacks/${stack.body.id}/git-sources`, {
      body: { repoUrl: repo.url, ref: "main", path: "deploy/compose.yml", pollIntervalSeconds: INTERVAL_SECONDS },
      headers: auth(),
    });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    source = created.body;
    const sync = await api.request("PUT", `/v1/environments/${envId}/sync`, {
      body: { mode: "automatic", sourceId: source.id },
      headers: auth(),
    });
    expect(sync.status, JSON.stringify(sync.body)).to.equal(200);
  });

  after(async function () {
    this.timeout(120_000);
    await stopAgent(agent);
    await removeStack(`${stackName}-prod`).catch((err: unknown) => console.error(String(err)));
    await stopTestStack({ db, nats, platform });
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
    if (repo) await rm(repo.root, { recursive: true, force: true });
  });

  afterEach(function () {
    if (this.currentTest?.state === "failed" && agent) {
      console.error(`--- agent output (last 80 lines) ---\n${agent.output.slice(-80).join("\n")}`);
    }
  });

  it("deploys the first commit, then each commit under the watched path within one interval, not others", async () => {
    await until(
      "commit one to run on the swarm",
      async () => ((await runningMark()) === "one" ? true : undefined),
      120_000,
    );
    await settled();
    const first = await deployments();
    expect(first.map((d) => d.createdByType)).to.deep.equal(["system"]);

    const docs = push("README.md", "not watched\n");
    await until(
      "the docs commit to be seen",
      async () => ((await getSource()).lastCommit === docs ? true : undefined),
      30_000,
    );
    await sleep(1_000);
    expect(await deployments()).to.have.length(1);
    expect(await runningMark()).to.equal("one");

    const pushedAt = Date.now();
    push("deploy/compose.yml", composeAt("two"));
    await until("commit two to run", async () => ((await runningMark()) === "two" ? true : undefined), 120_000);
    await settled();
    // Measured, not asserted (a loaded machine): how long from the push to the new spec on the swarm.
    console.log(`  push → running on the swarm: ${Date.now() - pushedAt} ms (interval ${INTERVAL_SECONDS} s)`);
    const audit = await db("audit_events").where({ action: "deployment.auto_sync" }).orderBy("ts", "desc").first();
    expect(audit?.data_json.commit).to.equal((await getSource()).lastCommit);
  });

  it("a signed GitHub webhook triggers at once; a bad signature gets 401 and nothing runs", async () => {
    // No poll is due for a while: make the next one far away, so only the webhook can explain the deploy.
    await db("git_sync_sources")
      .where({ id: source.id })
      .update({ next_poll_at: db.raw("now() + interval '1 hour'") });
    const commit = push("deploy/compose.yml", composeAt("three"));
    const body = JSON.stringify({ ref: "refs/heads/main", after: commit });
    const post = (secret: string, delivery: string) =>
      api.request<{ status?: string; error?: { code: string } }>("POST", `/v1/webhooks/git/${source.id}`, {
        body,
        headers: {
          "content-type": "application/json",
          "x-github-event": "push",
          "x-github-delivery": delivery,
          "x-hub-signature-256": `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`,
        },
      });
    const bad = await post("not-the-secret", randomUUID());
    expect(bad.status).to.equal(401);
    expect(bad.body.error?.code).to.equal("WEBHOOK_SIGNATURE_INVALID");
    await sleep(2_000);
    expect(await runningMark()).to.equal("two");

    const delivery = randomUUID();
    const good = await post(source.webhookSecret ?? "", delivery);
    expect(good.status).to.equal(202);
    await until("commit three to run", async () => ((await runningMark()) === "three" ? true : undefined), 120_000);
    await settled();
    const replay = await post(source.webhookSecret ?? "", delivery);
    expect(replay.body.status).to.equal("duplicate");
  });

  it("a manual rollback pins the environment: the next commit does not redeploy it until unpinned", async () => {
    const items = await deployments();
    const older = items.find((d) => d.status === "SUCCEEDED" && d.releaseId !== items[0]?.releaseId);
    const rollback = await api.request<Deployment>("POST", `/v1/environments/${envId}/rollback`, {
      body: { releaseId: older?.releaseId },
      headers: { ...auth(), "idempotency-key": randomUUID() },
    });
    expect(rollback.status, JSON.stringify(rollback.body)).to.equal(202);
    expect(rollback.body.autoSyncPinned?.reason).to.match(/manual rollback/);
    await until("the rollback to run", async () => ((await runningMark()) === "two" ? true : undefined), 120_000);
    await settled();

    const four = push("deploy/compose.yml", composeAt("four"));
    await until(
      "commit four to be released",
      async () => ((await getSource()).lastCommit === four ? true : undefined),
      60_000,
    );
    await sleep(INTERVAL_SECONDS * 1000);
    expect(await runningMark(), "pinned: not deployed").to.equal("two");

    const unpin = await api.request<{ deploymentIds: string[] }>("DELETE", `/v1/environments/${envId}/pin`, {
      headers: auth(),
    });
    expect(unpin.status).to.equal(200);
    await until(
      "commit four to run after unpin",
      async () => ((await runningMark()) === "four" ? true : undefined),
      120_000,
    );
    await settled();
  });
});
