/**
 * The CLI as a user runs it: the standalone bundle (npm run build:cli) executed by the system's Node when there is
 * one (the point of the bundle: no Node 22, no node_modules), against the real control plane on real Postgres and
 * NATS, with a scripted agent whose outcome each test chooses.
 */
import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import type { DeployStack } from "../../nats/protocol/messages.js";
import type { Db } from "../../services/_shared/db.js";
import { REPO_ROOT } from "../../services/_shared/paths.js";
import { startFakeAgent, type FakeAgent } from "../../services/_shared/testing/fake-agent.js";
import { base32Decode, totp } from "../../services/auth/totp.js";
import {
  createOrgWithAdmin,
  createUserWithRole,
  TEST_PASSWORD,
  uniqueName,
  type TestOrg,
} from "../../services/_shared/testing/fixtures.js";
import type { ContractClient } from "../../services/_shared/testing/http.js";
import type { TestNatsServer } from "../../services/_shared/testing/nats-server.js";
import type { TestPlatform } from "../../services/_shared/testing/platform.js";
import { startTestStack, stopTestStack } from "../../services/_shared/testing/stack.js";
import { sleep, until } from "../../services/_shared/testing/wait.js";
import { EXIT } from "./exit-codes.js";

const execFileAsync = promisify(execFile);
/** The machine's own Node (20 on Debian 12), else the one running the tests. */
const NODE = existsSync("/usr/bin/node") ? "/usr/bin/node" : process.execPath;

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

type AgentScript = "succeed" | "fail" | "hang";

describe("stackyard CLI (standalone bundle against the real control plane)", function () {
  this.timeout(60_000);
  let db: Db;
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let api: ContractClient;
  let org: TestOrg;
  let agent: FakeAgent;
  let dir: string;
  let bundle: string;
  let configFile: string;
  let stackName: string;
  let script: AgentScript = "succeed";
  const nextSeq = new Map<string, number>();

  const cli = (args: string[], opts: { stdin?: string; env?: Record<string, string> } = {}): Promise<CliRun> =>
    new Promise((resolve, reject) => {
      const child = spawn(NODE, [bundle, ...args], {
        env: { PATH: process.env.PATH ?? "", HOME: dir, STACKYARD_CONFIG: configFile, ...opts.env },
        stdio: ["pipe", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      child.stdin.end(opts.stdin ?? "");
      child.on("error", reject);
      child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
  const ok = async (args: string[], opts?: Parameters<typeof cli>[1]) => {
    const run = await cli(args, opts);
    if (run.code !== 0) throw new Error(`stackyard ${args.join(" ")} → ${run.code}\n${run.stdout}\n${run.stderr}`);
    return run;
  };
  const envRef = () => `${stackName}/prod`;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "stackyard-cli-"));
    bundle = join(dir, "stackyard.mjs");
    configFile = join(dir, "config", "stackyard.json");
    await execFileAsync(process.execPath, [join(REPO_ROOT, "scripts", "build-cli.mjs"), bundle], { cwd: REPO_ROOT });
    ({ db, nats, platform, api } = await startTestStack());
    org = await createOrgWithAdmin(api);
    agent = await startFakeAgent(api, nats.url, { orgId: org.orgId, auth: org.admin.auth }, "cli-cluster");
    agent.handlers.set("DeployStack", (command) => {
      const p = command.payload as unknown as DeployStack;
      const chosen = script;
      setTimeout(() => {
        void (async () => {
          await agent.emit(p.deploymentId, p.firstSeq, "Creating service app");
          if (chosen === "hang") return;
          await agent.emit(p.deploymentId, p.firstSeq + 1, chosen === "succeed" ? "converged" : "task exited (1)", {
            outcome: chosen === "succeed" ? "succeeded" : "failed",
            level: chosen === "succeed" ? "info" : "error",
          });
        })();
      }, 200);
      nextSeq.set(p.deploymentId, p.firstSeq + 1);
      return { deploymentId: p.deploymentId, status: "started" };
    });
    // Like the real agent: a cancelled deploy ends with a `cancelled` outcome event.
    agent.handlers.set("CancelDeployment", (command) => {
      const { deploymentId } = command.payload as { deploymentId: string };
      const seq = nextSeq.get(deploymentId);
      if (seq === undefined) return { deploymentId, cancelled: false };
      setTimeout(
        () => void agent.emit(deploymentId, seq, "deploy cancelled", { outcome: "cancelled", level: "warn" }),
        50,
      );
      return { deploymentId, cancelled: true };
    });
    stackName = uniqueName("shop").replace(/[^a-z0-9-]/g, "");
  });
  after(async () => {
    await agent?.close();
    await stopTestStack({ db, nats, platform });
    await rm(dir, { recursive: true, force: true });
  });

  it("logs in with the password on stdin and keeps only a rotating refresh token, in a 0600 file", async () => {
    await ok(["login", "--url", platform.baseUrl, "--email", org.admin.email, "--password-stdin"], {
      stdin: `${TEST_PASSWORD}\n`,
    });
    const text = await readFile(configFile, "utf8");
    const saved = JSON.parse(text) as Record<string, string>;
    expect(saved.url).to.equal(platform.baseUrl);
    expect(saved.orgId).to.equal(org.orgId);
    expect(saved.refreshToken).to.be.a("string");
    expect(text).to.not.include(TEST_PASSWORD);
    expect((await stat(configFile)).mode & 0o777).to.equal(0o600);
    const who = JSON.parse((await ok(["whoami", "-o", "json"])).stdout) as { org: { id: string } };
    expect(who.org.id).to.equal(org.orgId);
    // The refresh token rotated on use, and the new one was written back.
    expect(JSON.parse(await readFile(configFile, "utf8")).refreshToken).to.not.equal(saved.refreshToken);
  });

  it("creates a stack, an environment and a release by name, and lists them as a table and as JSON", async () => {
    await ok(["stacks", "create", stackName, "--description", "the shop"]);
    const clusters = await ok(["clusters", "ls"]);
    expect(clusters.stdout.split("\n")[0]).to.match(/^ID\s+NAME\s+STATUS\s+LAST SEEN$/);
    expect(clusters.stdout).to.include("cli-cluster");
    await ok(["envs", "create", stackName, "prod", "--cluster", "cli-cluster"]);
    const compose = join(dir, "compose.yaml");
    await writeFile(compose, "services:\n  app:\n    image: nginx:1.27\n");
    const created = await ok(["releases", "create", stackName, "--file", compose, "-o", "json"]);
    expect((JSON.parse(created.stdout) as { version: number }).version).to.equal(1);
    const releases = JSON.parse((await ok(["releases", "ls", stackName, "-o", "json"])).stdout) as unknown[];
    expect(releases).to.have.length(1);
    const yaml = await ok(["envs", "get", envRef(), "-o", "yaml"]);
    expect(yaml.stdout).to.match(/^name: prod$/m);
  });

  it("uploads a release with its manifest (--manifest) and shows it with releases get", async () => {
    const compose = join(dir, "compose-hooks.yaml");
    const manifest = join(dir, "stackyard.yaml");
    await writeFile(compose, "services:\n  app:\n    image: nginx:1.27\n");
    await writeFile(manifest, "hooks:\n  pre_deploy:\n    service: app\n    command: [migrate]\n");
    const created = await ok([
      "releases",
      "create",
      stackName,
      "--file",
      compose,
      "--manifest",
      manifest,
      "-o",
      "json",
    ]);
    const release = JSON.parse(created.stdout) as { version: number; manifest: unknown };
    expect(release.manifest).to.deep.equal({ hooks: { pre_deploy: { service: "app", command: ["migrate"] } } });
    const shown = await ok(["releases", "get", stackName, String(release.version)]);
    expect(shown.stdout).to.include("# stackyard.yaml\nhooks:\n  pre_deploy:");
  });

  it("deploy --wait prints the live console and exits 0 when the deployment succeeds", async () => {
    script = "succeed";
    const run = await cli(["deploy", envRef(), "--release", "1", "--wait"]);
    expect(run.code, run.stderr).to.equal(EXIT.OK);
    expect(run.stdout)
      .to.match(/info\s+Creating service app/)
      .and.match(/converged/);
    expect(run.stderr).to.match(/SUCCEEDED after/);
    // Not a terminal: no colour codes, no progress line.
    expect(run.stdout + run.stderr).to.not.include("\u001b[");
  });

  it("deploy --wait exits 1 with the reason when the deployment fails", async () => {
    script = "fail";
    const run = await cli(["deploy", envRef(), "--release", "1", "--wait"]);
    expect(run.code).to.equal(EXIT.DEPLOYMENT_FAILED);
    expect(run.stdout).to.match(/error\s+task exited \(1\)/);
    expect(run.stderr).to.match(/FAILED after .*: task exited \(1\)/);
  });

  it("deploy --wait exits 2 when someone cancels the deployment, and 3 when --timeout passes first", async () => {
    script = "hang";
    const waiting = cli(["deploy", envRef(), "--release", "1", "--wait", "-o", "json"]);
    const running = await until("a RUNNING deployment", async () => {
      const env = await api.get<{ items: Array<{ id: string }> }>(
        `/v1/stacks/${await stackId()}/environments`,
        org.admin.auth,
      );
      const envId = env.body.items[0]!.id;
      const page = await api.get<{ items: Array<{ id: string; status: string }> }>(
        `/v1/environments/${envId}/deployments`,
        org.admin.auth,
      );
      return page.body.items.find((d) => d.status === "RUNNING")?.id;
    });
    await ok(["deployments", "cancel", running]);
    const canceled = await waiting;
    expect(canceled.code).to.equal(EXIT.DEPLOYMENT_CANCELED);
    const lines = canceled.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, { status?: string }>);
    expect(lines.at(-1)!.deployment!.status).to.equal("CANCELED");

    const timedOut = await cli(["deploy", envRef(), "--release", "1", "--wait", "--timeout", "2s"]);
    expect(timedOut.code).to.equal(EXIT.WAIT_TIMED_OUT);
    expect(timedOut.stderr).to.match(/is still RUNNING after .*it goes on/);
    const id = /deployment ([0-9a-f-]{36}) is still/.exec(timedOut.stderr)![1]!;
    await ok(["deployments", "cancel", id]);
  });

  async function stackId(): Promise<string> {
    const list = await api.get<{ items: Array<{ id: string; name: string }> }>(
      `/v1/orgs/${org.orgId}/stacks`,
      org.admin.auth,
    );
    return list.body.items.find((s) => s.name === stackName)!.id;
  }

  it("sets a secret from stdin without ever printing it, and lists only its name", async () => {
    const value = "cli-canary-secret-value-7f3a";
    const set = await ok(["secrets", "set", envRef(), "db_password"], { stdin: `${value}\n` });
    expect(set.stdout + set.stderr).to.not.include(value);
    const list = await ok(["secrets", "ls", envRef(), "-o", "json"]);
    expect(list.stdout).to.include("db_password").and.not.include(value);
    const row = await db("environment_secrets").where({ name: "db_password" }).first();
    expect(row).to.not.equal(undefined);
  });

  it("names what is wrong: 4 for an API refusal, 64 for a bad command line", async () => {
    const missing = await cli(["deploy", `${stackName}/nope`, "--release", "1"]);
    expect(missing.code).to.equal(EXIT.API_REFUSED);
    expect(missing.stderr).to.include(`environment "${stackName}/nope" not found`);
    const refused = await cli(["envs", "create", stackName, "Not_A_Slug", "--cluster", "cli-cluster"]);
    expect(refused.code).to.equal(EXIT.API_REFUSED);
    expect(refused.stderr).to.match(/\(400 [A-Z_]+; request [0-9a-f-]{36}\)/);
    expect((await cli(["deploy", envRef()])).code).to.equal(EXIT.USAGE);
    expect((await cli(["deploy", envRef(), "--release", "1", "--timeout", "soon", "--wait"])).code).to.equal(
      EXIT.USAGE,
    );
    const unknown = await cli(["stacks", "ls", "--replicas", "3"]);
    expect(unknown.code).to.equal(EXIT.USAGE);
    expect(unknown.stderr).to.include("Unknown option '--replicas'");
    const misplaced = await cli(["stacks", "ls", "--release", "3"]);
    expect(misplaced.code).to.equal(EXIT.USAGE);
    expect(misplaced.stderr).to.include("stackyard stacks ls has no option --release");
  });

  it("works with an API token from STACKYARD_TOKEN and no config file, and reads the audit log", async () => {
    const created = await api.request<{ token: string }>("POST", `/v1/orgs/${org.orgId}/tokens`, {
      body: { name: "ci", scopes: ["stacks:read", "audit:read", "clusters:read"] },
      headers: org.admin.auth,
    });
    expect(created.status).to.equal(201);
    const env = {
      STACKYARD_TOKEN: created.body.token,
      STACKYARD_URL: platform.baseUrl,
      STACKYARD_CONFIG: join(dir, "none.json"),
    };
    const stacks = JSON.parse((await ok(["stacks", "ls", "-o", "json"], { env })).stdout) as Array<{ name: string }>;
    expect(stacks.map((s) => s.name)).to.include(stackName);
    const audit = JSON.parse(
      (await ok(["audit", "--action", "deployment.*", "-o", "json"], { env })).stdout,
    ) as unknown[];
    expect(audit.length).to.be.greaterThan(0);
    expect(existsSync(join(dir, "none.json"))).to.equal(false);
  });

  it("logs in with MFA: the code from --mfa-code completes the login; without one (no terminal) it says how", async () => {
    const user = await createUserWithRole(api, org, "VIEWER");
    const started = await api.request<{ secret: string }>("POST", "/v1/auth/mfa/enrollment", { headers: user.auth });
    // Steps -1 and 0 of one moment: wait for a fresh step when this one is about to end.
    const left = 30_000 - (Date.now() % 30_000);
    if (left < 8_000) await sleep(left + 50);
    const base = Date.now();
    const code = (steps: number) => totp(base32Decode(started.body.secret), base + steps * 30_000);
    const confirmed = await api.request("POST", "/v1/auth/mfa/enrollment/confirm", {
      body: { code: code(-1) },
      headers: user.auth,
    });
    expect(confirmed.status).to.equal(200);
    const env = { STACKYARD_CONFIG: join(dir, "mfa.json") };
    const login = ["login", "--url", platform.baseUrl, "--email", user.email, "--org", org.orgId, "--password-stdin"];
    const without = await cli(login, { stdin: `${TEST_PASSWORD}\n`, env });
    expect(without.code).to.equal(EXIT.USAGE);
    expect(without.stderr).to.include("--mfa-code");
    const wrong = await cli([...login, "--mfa-code", code(-1)], { stdin: `${TEST_PASSWORD}\n`, env });
    expect(wrong.code).to.equal(EXIT.NOT_AUTHENTICATED);
    expect(wrong.stderr).to.include("MFA_CODE_ALREADY_USED");
    await ok([...login, "--mfa-code", code(0)], { stdin: `${TEST_PASSWORD}\n`, env });
    const who = JSON.parse((await ok(["whoami", "-o", "json"], { env })).stdout) as { user: { email: string } };
    expect(who.user.email).to.equal(user.email);
    const saved = await readFile(join(dir, "mfa.json"), "utf8");
    expect(saved).to.not.include(code(0));
  });

  it("logs out: the session ends on the server and the next command asks for a login (exit 6)", async () => {
    const logouts = async () =>
      Number(
        (await db("audit_events").where({ org_id: org.orgId, action: "auth.logout" }).count("* as count"))[0]?.count,
      );
    const before = await logouts();
    await ok(["logout"]);
    const after = JSON.parse(await readFile(configFile, "utf8")) as Record<string, unknown>;
    expect(after).to.not.have.property("refreshToken");
    expect(await logouts()).to.equal(before + 1);
    const run = await cli(["stacks", "ls"]);
    expect(run.code).to.equal(EXIT.NOT_AUTHENTICATED);
    expect(run.stderr).to.include("stackyard login");
  });
});
