import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, mkdtempSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import sinon from "sinon";
import { parseMasterKeys } from "../../_shared/master-keys.js";
import { createOrgWithAdmin, createUserWithRole, type TestOrg } from "../../_shared/testing/fixtures.js";
import type { TestResponse } from "../../_shared/testing/http.js";
import { freePort } from "../../_shared/testing/nats-server.js";
import { TEST_MASTER_KEY } from "../../_shared/testing/platform.js";
import { startSshGitServer, type SshGitServer } from "../../_shared/testing/ssh-git-server.js";
import { startTestStack, stopTestStack, type TestStack } from "../../_shared/testing/stack.js";
import { TenantScope } from "../../_shared/tenant.js";
import { createTestGitRepo, type TestGitRepo } from "../test-fixtures.js";
import { resolveGitSource } from "../git-source.js";
import { loadGitCredentialSecret } from "./git-credentials.repo.js";
import { generateEd25519KeyPair, openSshPrivateKey, openSshPublicKey } from "./ssh-key.js";

interface GitCredentialBody {
  id: string;
  name: string;
  type: "ssh" | "https";
  publicKey: string | null;
  keyFingerprint: string | null;
  username: string | null;
  hostKeys: Array<{ host: string; keyType: string; fingerprint: string }>;
}
interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}
interface ReleaseBody {
  id: string;
  sourceRef: string | null;
  composeYaml: string;
}

const COMPOSE = "services:\n  web:\n    image: nginx:1.27\n";

/** `ssh-keygen -lf` of a public key line: the fingerprint as sshd logs it. */
function fingerprintOf(publicKeyLine: string): string {
  const dir = mkdtempSync(join(tmpdir(), "stackyard-fp-"));
  try {
    writeFileSync(join(dir, "k.pub"), `${publicKeyLine}\n`);
    return execFileSync("ssh-keygen", ["-lf", join(dir, "k.pub")], { encoding: "utf8" }).split(" ")[1] ?? "";
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Private git over a real OpenSSH server (a separate sshd on a loopback port, its own config and log), through the
 * real gateway, Postgres and NATS: deploy keys, host-key trust, the control-plane user's own key never used, the
 * SSRF guard, the per-org fetch cap, RBAC, and no credential value in any response, log line or audit row.
 */
describe("git credentials: deploy keys against a real sshd, host keys, SSRF guard (real gateway, Postgres, NATS)", function () {
  this.timeout(120_000);
  let stack: Partial<TestStack> = {};
  let sshd: SshGitServer;
  let repo: TestGitRepo;
  let commit: string;
  let org: TestOrg;
  let tarpit: Server;
  let tarpitPort: number;
  const responses: string[] = [];
  const lines: string[] = [];
  const restore: Array<() => void> = [];
  // The control-plane user's own ssh key: OpenSSH finds ~/.ssh through the passwd entry whatever HOME says.
  const userSshDir = join(homedir(), ".ssh");
  const decoyPath = join(userSshDir, "id_ed25519");
  const backupSuffix = `.stackyard-test-backup-${process.pid}`;
  let createdSshDir = false;
  let decoyPublicKey = "";

  async function call<T>(method: string, path: string, body?: unknown, headers = org.admin.auth) {
    const res: TestResponse<T> = await stack.api!.request<T>(method, path, {
      ...(body !== undefined ? { body } : {}),
      headers,
    });
    responses.push(JSON.stringify(res.body));
    return res;
  }

  async function createCredential(name: string, extra: Record<string, unknown> = { type: "ssh" }) {
    const res = await call<GitCredentialBody>("POST", `/v1/orgs/${org.orgId}/git-credentials`, { name, ...extra });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return res.body;
  }

  let stackSeq = 0;
  async function gitRelease(repoUrl: string, credentialId?: string, owner = org) {
    const created = await call<{ id: string }>(
      "POST",
      `/v1/orgs/${owner.orgId}/stacks`,
      { name: `git-${process.pid}-${stackSeq++}` },
      owner.admin.auth,
    );
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    return call<ReleaseBody & ErrorBody>(
      "POST",
      `/v1/stacks/${created.body.id}/releases`,
      {
        sourceType: "git",
        git: { repoUrl, ref: "main", path: "compose.yml", ...(credentialId ? { credentialId } : {}) },
      },
      owner.admin.auth,
    );
  }

  before(async () => {
    sshd = await startSshGitServer();
    repo = createTestGitRepo("stackyard-private-git-");
    writeFileSync(join(repo.work, "compose.yml"), COMPOSE);
    repo.git(repo.work, "add", ".");
    repo.git(repo.work, "commit", "--quiet", "-m", "v1");
    commit = repo.git(repo.work, "rev-parse", "HEAD");
    repo.git(repo.work, "push", "--quiet", repo.bare, "main");
    sshd.addRepo("app.git", repo.bare);

    // The decoy: a key the server accepts, in the control-plane user's default identity file.
    if (!existsSync(userSshDir)) {
      mkdirSync(userSshDir, { mode: 0o700 });
      createdSshDir = true;
    }
    for (const suffix of ["", ".pub"]) {
      if (existsSync(decoyPath + suffix)) renameSync(decoyPath + suffix, decoyPath + suffix + backupSuffix);
    }
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "decoy", "-f", decoyPath]);
    decoyPublicKey = readFileSync(`${decoyPath}.pub`, "utf8").trim();
    sshd.authorize(decoyPublicKey);

    // A loopback listener that never speaks: holds a fetch slot long enough to see the cap.
    tarpitPort = await freePort();
    tarpit = createServer(() => {});
    await new Promise<void>((r) => tarpit.listen(tarpitPort, "127.0.0.1", () => r()));

    for (const method of ["log", "info", "warn", "error", "debug"] as const) {
      const stub = sinon.stub(console, method).callsFake((...args: unknown[]) => {
        lines.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "));
      });
      restore.push(() => stub.restore());
    }
    stack = await startTestStack({
      LOG_LEVEL: "debug",
      STACKYARD_TEST_GIT_ALLOW_HOSTS: `127.0.0.1:${sshd.port},127.0.0.1:${tarpitPort}`,
      GIT_FETCH_CONCURRENCY_PER_ORG: "1",
      GIT_TIMEOUT_MS: "20000",
    });
    org = await createOrgWithAdmin(stack.api!);
  });

  after(async () => {
    await stopTestStack(stack);
    for (const r of restore) r();
    tarpit?.close();
    await sshd?.stop();
    if (repo) rmSync(repo.root, { recursive: true, force: true });
    for (const suffix of ["", ".pub"]) {
      rmSync(decoyPath + suffix, { force: true });
      if (existsSync(decoyPath + suffix + backupSuffix))
        renameSync(decoyPath + suffix + backupSuffix, decoyPath + suffix);
    }
    if (createdSshDir) rmSync(userSshDir, { recursive: true, force: true });
  });

  it("makes an SSH deploy key: the OpenSSH public key and its fingerprint are shown, the private key never", async () => {
    const cred = await createCredential("deploy");
    expect(cred.type).to.equal("ssh");
    expect(cred.publicKey).to.match(/^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5[A-Za-z0-9+/]+ stackyard-deploy$/);
    expect(cred.keyFingerprint).to.equal(fingerprintOf(cred.publicKey!));
    expect(cred.hostKeys).to.deep.equal([]);
    const listed = await call<{ items: GitCredentialBody[] }>("GET", `/v1/orgs/${org.orgId}/git-credentials`);
    expect(listed.body.items.map((c) => c.name)).to.include("deploy");
    const again = await call<ErrorBody>("POST", `/v1/orgs/${org.orgId}/git-credentials`, {
      name: "deploy",
      type: "ssh",
    });
    expect(again.status).to.equal(409);
    expect(again.body.error.code).to.equal("GIT_CREDENTIAL_EXISTS");
  });

  it("a git release over SSH with the deploy key pins the commit; the host key is trusted on first use and shown", async () => {
    const cred = await createCredential("app-key");
    sshd.authorize(cred.publicKey!);
    const res = await gitRelease(sshd.urlOf("app.git"), cred.id);
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    expect(res.body.composeYaml).to.equal(COMPOSE);
    expect(res.body.sourceRef).to.equal(`${sshd.urlOf("app.git")}@${commit}:compose.yml`);

    const shown = await call<GitCredentialBody>("GET", `/v1/orgs/${org.orgId}/git-credentials/${cred.id}`);
    expect(shown.body.hostKeys).to.deep.equal([
      { host: `[127.0.0.1]:${sshd.port}`, keyType: "ssh-ed25519", fingerprint: fingerprintOf(sshd.hostPublicKey) },
    ]);
    expect(sshd.log()).to.include(`Accepted publickey for stackyard-git from 127.0.0.1`);
    expect(sshd.log()).to.include(cred.keyFingerprint!);
    // A second release reuses the stored host key.
    expect((await gitRelease(sshd.urlOf("app.git"), cred.id)).status).to.equal(201);
    const audit = await call<{ items: Array<{ action: string; data: Record<string, unknown> }> }>(
      "GET",
      `/v1/orgs/${org.orgId}/audit?action=git_credential.*`,
    );
    const trust = audit.body.items.filter((e) => e.action === "git_credential.trust_host");
    expect(trust).to.have.length(1);
    expect(trust[0]?.data).to.deep.include({ host: `[127.0.0.1]:${sshd.port}`, source: "first-use" });
  });

  it("never uses the control-plane user's own ~/.ssh key: the server never sees it (sshd VERBOSE log)", async () => {
    // This deploy key is not authorized: a client falling back to ~/.ssh/id_ed25519 would get in with the decoy.
    const cred = await createCredential("not-authorized");
    const res = await gitRelease(sshd.urlOf("app.git"), cred.id);
    expect(res.status, JSON.stringify(res.body)).to.equal(422);
    expect(res.body.error.code).to.equal("GIT_AUTH_FAILED");
    const log = sshd.log();
    expect(log, "the offered deploy key is logged").to.include(cred.keyFingerprint!);
    expect(log).to.not.include(fingerprintOf(decoyPublicKey));
    // Control: the decoy is a working key for this server, so only the isolation kept it out.
    const probe = execFileSync("git", ["ls-remote", "--", sshd.urlOf("app.git")], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
      env: {
        PATH: process.env.PATH,
        GIT_SSH_COMMAND: `ssh -F /dev/null -o LogLevel=ERROR -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -i ${decoyPath}`,
      },
    });
    expect(probe).to.include("refs/heads/main");
    expect(sshd.log()).to.include(fingerprintOf(decoyPublicKey));
  });

  it("refuses a wrong host key with 409 GIT_HOST_KEY_MISMATCH, and a pasted right one works", async () => {
    const cred = await createCredential("pinned");
    sshd.authorize(cred.publicKey!);
    const dir = mkdtempSync(join(tmpdir(), "stackyard-wrong-host-"));
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "k")]);
    const wrongKey = readFileSync(join(dir, "k.pub"), "utf8").trim().split(" ").slice(0, 2).join(" ");
    rmSync(dir, { recursive: true, force: true });
    const hostKeys = `/v1/orgs/${org.orgId}/git-credentials/${cred.id}/host-keys`;
    const pasted = await call<GitCredentialBody>("POST", hostKeys, {
      host: "127.0.0.1",
      port: sshd.port,
      publicKeys: wrongKey,
    });
    expect(pasted.status, JSON.stringify(pasted.body)).to.equal(200);
    expect(pasted.body.hostKeys[0]?.fingerprint).to.equal(fingerprintOf(wrongKey));

    const res = await gitRelease(sshd.urlOf("app.git"), cred.id);
    expect(res.status, JSON.stringify(res.body)).to.equal(409);
    expect(res.body.error.code).to.equal("GIT_HOST_KEY_MISMATCH");
    expect(res.body.error.message).to.include(`[127.0.0.1]:${sshd.port}`);

    const fixed = await call<GitCredentialBody>("POST", hostKeys, {
      host: "127.0.0.1",
      port: sshd.port,
      publicKeys: sshd.hostPublicKey,
    });
    expect(fixed.body.hostKeys).to.have.length(1);
    expect((await gitRelease(sshd.urlOf("app.git"), cred.id)).status).to.equal(201);
  });

  it("pins ssh to the checked address and checks the host key under the URL's name (HostKeyAlias)", async () => {
    const pair = generateEd25519KeyPair();
    sshd.authorize(openSshPublicKey(pair.publicKey, "pin-test"));
    const alias = `[repo.stackyard.invalid]:${sshd.port}`;
    const url = `ssh://stackyard-git@repo.stackyard.invalid:${sshd.port}${join(sshd.reposDir, "app.git")}`;
    const options = { maxBytes: 4096, timeoutMs: 15_000, allowedSchemes: ["ssh"] as const };
    const connection = (knownHosts: string) => ({
      address: "127.0.0.1",
      ssh: { privateKey: openSshPrivateKey(pair.seed, "pin-test"), knownHosts, hostKeyAlias: alias },
    });
    // `.invalid` never resolves: only the pinned address can be reached.
    const result = await resolveGitSource(
      { repoUrl: url, ref: "main", path: "compose.yml" },
      { ...options, connection: connection(`${alias} ${sshd.hostPublicKey}\n`) },
    );
    expect(result.commit).to.equal(commit);
    // The same key filed under the address instead of the name is not trusted.
    const err = await resolveGitSource(
      { repoUrl: url, ref: "main", path: "compose.yml" },
      { ...options, connection: connection(`[127.0.0.1]:${sshd.port} ${sshd.hostPublicKey}\n`) },
    ).catch((e: unknown) => e);
    expect((err as { type?: unknown }).type).to.equal("GIT_HOST_KEY_MISMATCH");
  });

  it("scans a host's keys on request (trust on first use) and returns their fingerprints", async () => {
    const cred = await createCredential("scanned");
    const res = await call<GitCredentialBody>("POST", `/v1/orgs/${org.orgId}/git-credentials/${cred.id}/host-keys`, {
      host: "127.0.0.1",
      port: sshd.port,
    });
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body.hostKeys.map((k) => k.fingerprint)).to.deep.equal([fingerprintOf(sshd.hostPublicKey)]);
  });

  it("refuses git URLs to loopback, link-local metadata and names resolving to loopback with GIT_HOST_FORBIDDEN", async () => {
    const cred = await createCredential("ssrf");
    const urls = [
      "https://127.0.0.1/acme/app.git",
      "https://169.254.169.254/latest/meta-data",
      "https://localhost/acme/app.git",
      "https://[::1]/acme/app.git",
      "https://[::ffff:127.0.0.1]/acme/app.git",
      "https://[fd00:ec2::254]/latest",
      "https://10.1.2.3/acme/app.git",
      `ssh://git@localhost:${sshd.port}/app.git`,
      // The test-only allowance is for one host:port exactly.
      `ssh://stackyard-git@127.0.0.1:${sshd.port + 1}/app.git`,
    ];
    for (const url of urls) {
      const res = await gitRelease(url, url.startsWith("ssh") ? cred.id : undefined);
      expect(res.status, `${url}: ${JSON.stringify(res.body)}`).to.equal(422);
      expect(res.body.error.code, url).to.equal("GIT_HOST_FORBIDDEN");
    }
    const scan = await call<ErrorBody>("POST", `/v1/orgs/${org.orgId}/git-credentials/${cred.id}/host-keys`, {
      host: "169.254.169.254",
    });
    expect(scan.status).to.equal(422);
    expect(scan.body.error.code).to.equal("GIT_HOST_FORBIDDEN");
  });

  it("caps concurrent fetches per org with 429 GIT_FETCH_LIMIT (other orgs unaffected)", async () => {
    const cred = await createCredential("slow");
    const slow = gitRelease(`ssh://git@127.0.0.1:${tarpitPort}/app.git`, cred.id);
    await new Promise((r) => setTimeout(r, 1500));
    const second = await gitRelease(sshd.urlOf("app.git"), cred.id);
    expect(second.status, JSON.stringify(second.body)).to.equal(429);
    expect(second.body.error.code).to.equal("GIT_FETCH_LIMIT");
    expect(second.headers.get("retry-after")).to.equal("5");
    const other = await createOrgWithAdmin(stack.api!);
    const otherRes = await gitRelease("https://127.0.0.1/x.git", undefined, other);
    expect(otherRes.body.error.code).to.equal("GIT_HOST_FORBIDDEN"); // got a slot: judged on its URL
    const first = await slow;
    expect(first.status, JSON.stringify(first.body)).to.equal(422);
    expect(first.body.error.code).to.equal("GIT_HOST_KEY_SCAN_FAILED");
  });

  it("needs a credential for ssh://, and the right kind for the scheme", async () => {
    const none = await gitRelease(sshd.urlOf("app.git"));
    expect(none.status).to.equal(422);
    expect(none.body.error.code).to.equal("GIT_CREDENTIAL_REQUIRED");
    const token = await createCredential("token", { type: "https", token: `ghp_${"t".repeat(36)}` });
    const wrongKind = await gitRelease(sshd.urlOf("app.git"), token.id);
    expect(wrongKind.body.error.code).to.equal("GIT_CREDENTIAL_MISMATCH");
  });

  it("keeps credentials to their org and to the roles that may manage secrets", async () => {
    const cred = await createCredential("mine");
    const other = await createOrgWithAdmin(stack.api!);
    const read = await call<ErrorBody>(
      "GET",
      `/v1/orgs/${other.orgId}/git-credentials/${cred.id}`,
      undefined,
      other.admin.auth,
    );
    expect(read.status).to.equal(404);
    const use = await gitRelease(sshd.urlOf("app.git"), cred.id, other);
    expect(use.status).to.equal(404);
    expect(use.body.error.code).to.equal("GIT_CREDENTIAL_NOT_FOUND");

    const viewer = await createUserWithRole(stack.api!, org, "VIEWER");
    expect((await call("GET", `/v1/orgs/${org.orgId}/git-credentials`, undefined, viewer.auth)).status).to.equal(200);
    const denied = await call<ErrorBody>(
      "POST",
      `/v1/orgs/${org.orgId}/git-credentials`,
      { name: "v", type: "ssh" },
      viewer.auth,
    );
    expect(denied.status).to.equal(403);
    expect(
      (await call("DELETE", `/v1/orgs/${org.orgId}/git-credentials/${cred.id}`, undefined, viewer.auth)).status,
    ).to.equal(403);
    const clusterAdmin = await createUserWithRole(stack.api!, org, "CLUSTER_ADMIN");
    expect(
      (await call("POST", `/v1/orgs/${org.orgId}/git-credentials`, { name: "c", type: "ssh" }, clusterAdmin.auth))
        .status,
    ).to.equal(403);
    const appAdmin = await createUserWithRole(stack.api!, org, "APP_ADMIN");
    const made = await call<GitCredentialBody>(
      "POST",
      `/v1/orgs/${org.orgId}/git-credentials`,
      { name: "app", type: "ssh" },
      appAdmin.auth,
    );
    expect(made.status).to.equal(201);

    const deleted = await call<GitCredentialBody>("DELETE", `/v1/orgs/${org.orgId}/git-credentials/${cred.id}`);
    expect(deleted.status).to.equal(200);
    expect((await call("GET", `/v1/orgs/${org.orgId}/git-credentials/${cred.id}`)).status).to.equal(404);
    const audit = await call<{ items: Array<{ action: string; targetId: string }> }>(
      "GET",
      `/v1/orgs/${org.orgId}/audit?action=git_credential.*`,
    );
    const actions = audit.body.items.filter((e) => e.targetId === cred.id).map((e) => e.action);
    expect(actions).to.have.members(["git_credential.create", "git_credential.delete"]);
  });

  it("no credential value in any API response, log line or audit row", async () => {
    const token = `glpat-canary-${process.pid}-Xq7ZvT3`;
    const https = await createCredential("canary-token", { type: "https", username: "oauth2", token });
    expect(JSON.stringify(https)).to.not.include(token);
    const db = stack.db!;
    const keys = parseMasterKeys(TEST_MASTER_KEY);
    const scope = new TenantScope(db, org.orgId);
    const planted: string[] = [token, "PRIVATE KEY"];
    const rows = await db("git_credentials")
      .where({ org_id: org.orgId })
      .select<{ id: string; kind: string }[]>("id", "kind");
    for (const row of rows) {
      const secret = await loadGitCredentialSecret(scope, row.id, keys);
      if (row.kind === "ssh")
        planted.push(
          secret.secret.toString("base64"),
          secret.secret.toString("hex"),
          secret.secret.toString("base64url"),
        );
      else planted.push(secret.secret.toString("utf8"));
    }
    const auditRows = await db("audit_events").where({ org_id: org.orgId }).select("data_json");
    const haystacks: Array<[string, string[]]> = [
      ["API responses", responses],
      ["log lines", lines],
      ["audit rows", auditRows.map((r: { data_json: unknown }) => JSON.stringify(r.data_json))],
      ["sshd log", [sshd.log()]],
    ];
    expect(lines.length, "the platform logged").to.be.greaterThan(10);
    for (const [where, texts] of haystacks) {
      for (const value of planted) {
        for (const text of texts) expect(text.includes(value), `${where} contain a credential value`).to.equal(false);
      }
    }
  });
});
