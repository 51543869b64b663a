import { createHash } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { ServiceBroker } from "moleculer";
import type { Db } from "../_shared/db.js";
import { createOrgWithAdmin, createUserWithRole, type TestOrg } from "../_shared/testing/fixtures.js";
import { ContractClient } from "../_shared/testing/http.js";
import { type TestNatsServer } from "../_shared/testing/nats-server.js";
import { type TestPlatform } from "../_shared/testing/platform.js";
import { MasterKeyConfigError, parseMasterKeys } from "./secrets-crypto.js";
import { createStacksService } from "./stacks.service.js";
import { testMasterKeySpec } from "./test-fixtures.js";
import { startTestStack, stopTestStack } from "../_shared/testing/stack.js";
import { createTestGitRepo } from "./test-fixtures.js";

interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}
interface StackBody {
  id: string;
  name: string;
}
interface ReleaseBody {
  id: string;
  version: number;
  sha256: string;
  sourceType: string;
  sourceRef: string | null;
  warnings: Array<{ code: string; service: string | null; key: string }>;
  composeYaml: string;
}
interface SecretBody {
  name: string;
  version: number;
  services: string[];
  created?: boolean;
}

const RELEASE_1 = `services:
  web:
    image: nginx:1.25
    restart: always
    deploy:
      replicas: 2
    ports: ["8080:80"]
  db:
    image: postgres:16
`;
const RELEASE_2 = `services:
  web:
    image: nginx:1.27
    deploy:
      replicas: 3
    environment:
      MODE: fast
    ports: ["8080:80"]
  worker:
    image: busybox:1.36
`;

describe("stacks, environments, releases, overlays, secrets, render and diff (real gateway, Postgres, NATS)", function () {
  this.timeout(60_000);
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let db: Db;
  let api: ContractClient;
  let org: TestOrg;
  let other: TestOrg;
  let clusterId: string;
  let otherClusterId: string;

  before(async () => {
    ({ db, nats, platform, api } = await startTestStack());
    org = await createOrgWithAdmin(api);
    other = await createOrgWithAdmin(api);
    clusterId = await createCluster(org, "main");
    otherClusterId = await createCluster(other, "theirs");
  });
  after(async () => {
    await stopTestStack({ db, nats, platform });
  });

  async function createCluster(owner: TestOrg, name: string): Promise<string> {
    const res = await api.request<{ cluster: { id: string } }>("POST", `/v1/orgs/${owner.orgId}/clusters`, {
      body: { name },
      headers: owner.admin.auth,
    });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return res.body.cluster.id;
  }

  async function createStack(name: string, owner = org): Promise<StackBody> {
    const res = await api.request<StackBody>("POST", `/v1/orgs/${owner.orgId}/stacks`, {
      body: { name, description: "test stack" },
      headers: owner.admin.auth,
    });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return res.body;
  }

  async function createEnvironment(stackId: string, name: string): Promise<string> {
    const res = await api.request<{ id: string }>("POST", `/v1/stacks/${stackId}/environments`, {
      body: { name, clusterId },
      headers: org.admin.auth,
    });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return res.body.id;
  }

  function postRelease<T = ReleaseBody>(stackId: string, body: unknown, headers = org.admin.auth) {
    return api.request<T>("POST", `/v1/stacks/${stackId}/releases`, { body, headers });
  }

  async function upload(stackId: string, composeYaml: string): Promise<ReleaseBody> {
    const res = await postRelease(stackId, { sourceType: "upload", composeYaml });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return res.body;
  }

  describe("stacks", () => {
    it("creates, lists and shows a stack; a duplicate name is a 409", async () => {
      const stack = await createStack("shop");
      const list = await api.get<{ items: StackBody[] }>(`/v1/orgs/${org.orgId}/stacks`, org.admin.auth);
      expect(list.body.items.map((s) => s.name)).to.include("shop");
      const detail = await api.get<{ environments: unknown[]; latestRelease: unknown }>(
        `/v1/orgs/${org.orgId}/stacks/${stack.id}`,
        org.admin.auth,
      );
      expect(detail.status).to.equal(200);
      expect(detail.body.environments).to.deep.equal([]);
      expect(detail.body.latestRelease).to.equal(null);
      const dup = await api.request<ErrorBody>("POST", `/v1/orgs/${org.orgId}/stacks`, {
        body: { name: "shop" },
        headers: org.admin.auth,
      });
      expect(dup.status).to.equal(409);
      expect(dup.body.error.code).to.equal("STACK_EXISTS");
      const audit = await db("audit_events").where({ action: "stack.create", target_id: stack.id });
      expect(audit).to.have.length(1);
    });

    it("refuses names Swarm cannot use", async () => {
      for (const name of ["Shop", "my stack", "-x", "a".repeat(64)]) {
        const res = await api.request<ErrorBody>("POST", `/v1/orgs/${org.orgId}/stacks`, {
          body: { name },
          headers: org.admin.auth,
        });
        expect(res.status, name).to.equal(400);
      }
    });

    it("hides another org's stack (404) and rejects a malformed id (400)", async () => {
      const stack = await createStack("private");
      const viaOwnOrg = await api.get<ErrorBody>(`/v1/orgs/${other.orgId}/stacks/${stack.id}`, other.admin.auth);
      expect(viaOwnOrg.status).to.equal(404);
      expect(viaOwnOrg.body.error.code).to.equal("STACK_NOT_FOUND");
      const viaTheirs = await api.get(`/v1/orgs/${org.orgId}/stacks/${stack.id}`, other.admin.auth);
      expect(viaTheirs.status).to.equal(404);
      expect((await api.get(`/v1/stacks/${stack.id}/environments`, other.admin.auth)).status).to.equal(404);
      expect((await api.get(`/v1/stacks/${stack.id}/releases`, other.admin.auth)).status).to.equal(404);
      const malformed = await api.get<ErrorBody>(`/v1/orgs/${org.orgId}/stacks/not-a-uuid`, org.admin.auth);
      expect(malformed.status).to.equal(400);
    });

    it("lets a VIEWER read stacks but not create one", async () => {
      const viewer = await createUserWithRole(api, org, "VIEWER");
      expect((await api.get(`/v1/orgs/${org.orgId}/stacks`, viewer.auth)).status).to.equal(200);
      const res = await api.request<ErrorBody>("POST", `/v1/orgs/${org.orgId}/stacks`, {
        body: { name: "viewer-stack" },
        headers: viewer.auth,
      });
      expect(res.status).to.equal(403);
      expect(res.body.error.code).to.equal("PERMISSION_DENIED");
    });
  });

  describe("environments", () => {
    it("binds an environment to a cluster of the org, with an empty overlay", async () => {
      const stack = await createStack("envs");
      const res = await api.request<{ id: string; deployTimeoutSeconds: number; clusterId: string }>(
        "POST",
        `/v1/stacks/${stack.id}/environments`,
        { body: { name: "staging", clusterId, deployTimeoutSeconds: 120 }, headers: org.admin.auth },
      );
      expect(res.status).to.equal(201);
      expect(res.body.deployTimeoutSeconds).to.equal(120);
      const overlays = await db("stack_overlays").where({ environment_id: res.body.id });
      expect(overlays).to.have.length(1);
      const list = await api.get<{ items: Array<{ name: string }> }>(
        `/v1/stacks/${stack.id}/environments`,
        org.admin.auth,
      );
      expect(list.body.items.map((e) => e.name)).to.deep.equal(["staging"]);
      const dup = await api.request<ErrorBody>("POST", `/v1/stacks/${stack.id}/environments`, {
        body: { name: "staging", clusterId },
        headers: org.admin.auth,
      });
      expect(dup.status).to.equal(409);
      expect(dup.body.error.code).to.equal("ENVIRONMENT_EXISTS");
    });

    it("answers 404 for a cluster of another org, 400 for a bad slug", async () => {
      const stack = await createStack("envs-foreign");
      const foreign = await api.request<ErrorBody>("POST", `/v1/stacks/${stack.id}/environments`, {
        body: { name: "prod", clusterId: otherClusterId },
        headers: org.admin.auth,
      });
      expect(foreign.status).to.equal(404);
      expect(foreign.body.error.code).to.equal("CLUSTER_NOT_FOUND");
      const slug = await api.request("POST", `/v1/stacks/${stack.id}/environments`, {
        body: { name: "Prod_1", clusterId },
        headers: org.admin.auth,
      });
      expect(slug.status).to.equal(400);
      expect(await db("environments").where({ stack_id: stack.id })).to.have.length(0);
    });

    it("gives each environment its own Swarm stack: <stack>-<env> by default, or the one asked for", async () => {
      const stack = await createStack("swarm-names");
      type Env = { id: string; swarmStack: string };
      const post = (body: Record<string, unknown>) =>
        api.request<Env & ErrorBody>("POST", `/v1/stacks/${stack.id}/environments`, {
          body: { clusterId, ...body },
          headers: org.admin.auth,
        });
      const dev = await post({ name: "dev" });
      expect(dev.status).to.equal(201);
      expect(dev.body.swarmStack).to.equal("swarm-names-dev");
      const staging = await post({ name: "staging", swarmStack: "shop_staging" });
      expect(staging.status).to.equal(201);
      expect(staging.body.swarmStack).to.equal("shop_staging");
      const detail = await api.get<Env>(`/v1/environments/${staging.body.id}`, org.admin.auth);
      expect(detail.body.swarmStack).to.equal("shop_staging");
      const audit = await db("audit_events")
        .where({ action: "environment.create", target_id: staging.body.id })
        .first("data_json");
      expect(audit?.data_json).to.deep.include({ swarmStack: "shop_staging" });

      // Names Swarm refuses: 422 with a code, nothing written.
      for (const swarmStack of ["Shop", "-shop", "shop.prod", "s".repeat(64), ""]) {
        const bad = await post({ name: "qa", swarmStack });
        expect(bad.status, swarmStack).to.equal(422);
        expect(bad.body.error.code).to.equal("SWARM_STACK_INVALID");
      }
      // Taken on the cluster (by this stack's dev, or by another stack's environment): 409, nothing written.
      const other = await createStack("swarm-names-other");
      for (const [stackId, swarmStack] of [
        [stack.id, "swarm-names-dev"],
        [other.id, "shop_staging"],
      ] as const) {
        const taken = await api.request<ErrorBody>("POST", `/v1/stacks/${stackId}/environments`, {
          body: { name: "qa", clusterId, swarmStack },
          headers: org.admin.auth,
        });
        expect(taken.status).to.equal(409);
        expect(taken.body.error.code).to.equal("SWARM_STACK_TAKEN");
      }
      expect(await db("environments").whereIn("stack_id", [stack.id, other.id]).pluck("name")).to.have.members([
        "dev",
        "staging",
      ]);
      expect(await db("stack_overlays").whereIn("environment_id", [dev.body.id, staging.body.id])).to.have.length(2);
      // A default that would be taken is refused the same way, never silently renamed.
      const clash = await createStack("swarm");
      const clashing = await api.request<ErrorBody>("POST", `/v1/stacks/${clash.id}/environments`, {
        body: { name: "names-dev", clusterId },
        headers: org.admin.auth,
      });
      expect(clashing.status).to.equal(409);
      expect(clashing.body.error.code).to.equal("SWARM_STACK_TAKEN");
    });

    it("lets exactly one of two concurrent creations take a Swarm stack name (the database decides)", async () => {
      const [a, b] = [await createStack("race-a"), await createStack("race-b")];
      const results = await Promise.all(
        [a, b].map((stack) =>
          api.request<ErrorBody>("POST", `/v1/stacks/${stack.id}/environments`, {
            body: { name: "prod", clusterId, swarmStack: "race-prod" },
            headers: org.admin.auth,
          }),
        ),
      );
      expect(results.map((r) => r.status).sort()).to.deep.equal([201, 409]);
      expect(results.find((r) => r.status === 409)?.body.error.code).to.equal("SWARM_STACK_TAKEN");
      expect(await db("environments").where({ cluster_id: clusterId, swarm_stack: "race-prod" })).to.have.length(1);
      expect(
        await db("environments")
          .whereIn("environments.stack_id", [a.id, b.id])
          .join("stack_overlays", "stack_overlays.environment_id", "environments.id"),
        "no overlay without its environment",
      ).to.have.length(1);
    });

    it("shows the environment with its current release: that of the last successful deployment", async () => {
      const stack = await createStack("envs-detail");
      const envId = await createEnvironment(stack.id, "prod");
      type Detail = {
        stack: { name: string };
        cluster: { id: string };
        currentRelease: { id: string; version: number } | null;
      };
      const before = await api.get<Detail>(`/v1/environments/${envId}`, org.admin.auth);
      expect(before.status).to.equal(200);
      expect(before.body.stack.name).to.equal("envs-detail");
      expect(before.body.cluster.id).to.equal(clusterId);
      expect(before.body.currentRelease).to.equal(null);
      const r1 = await upload(stack.id, RELEASE_1);
      const r2 = await upload(stack.id, RELEASE_2);
      type StackDetail = {
        environments: Array<{ id: string; lastDeployment: { status: string; releaseVersion: number } | null }>;
      };
      const never = await api.get<StackDetail>(`/v1/orgs/${org.orgId}/stacks/${stack.id}`, org.admin.auth);
      expect(never.body.environments.find((e) => e.id === envId)?.lastDeployment).to.equal(null);
      await db("deployments").insert([
        {
          org_id: org.orgId,
          environment_id: envId,
          release_id: r1.id,
          status: "SUCCEEDED",
          finished_at: new Date(),
          created_at: new Date(Date.now() - 1000),
        },
        { org_id: org.orgId, environment_id: envId, release_id: r2.id, status: "FAILED", finished_at: new Date() },
      ]);
      const after = await api.get<Detail>(`/v1/environments/${envId}`, org.admin.auth);
      expect(after.body.currentRelease?.id).to.equal(r1.id);
      // The stack page shows each environment's newest deployment, whatever its outcome.
      const listed = await api.get<StackDetail>(`/v1/orgs/${org.orgId}/stacks/${stack.id}`, org.admin.auth);
      expect(listed.body.environments.find((e) => e.id === envId)?.lastDeployment).to.deep.include({
        status: "FAILED",
        releaseVersion: 2,
      });
      expect((await api.get(`/v1/environments/${envId}`, other.admin.auth)).status).to.equal(404);
    });
  });

  describe("releases", () => {
    it("freezes an uploaded compose file with its digest, version and warnings", async () => {
      const stack = await createStack("rel-upload");
      const created = await upload(stack.id, RELEASE_1);
      expect(created.version).to.equal(1);
      expect(created.sourceType).to.equal("upload");
      expect(created.sha256).to.equal(createHash("sha256").update(RELEASE_1).digest("hex"));
      expect(created.warnings.map((w) => `${w.service}.${w.key}`)).to.deep.equal(["web.restart"]);
      const fetched = await api.get<ReleaseBody>(`/v1/releases/${created.id}`, org.admin.auth);
      expect(fetched.body.composeYaml).to.equal(RELEASE_1);
      const list = await api.get<{ items: Array<{ version: number; composeYaml?: string }> }>(
        `/v1/stacks/${stack.id}/releases?limit=10`,
        org.admin.auth,
      );
      expect(list.body.items.map((r) => r.version)).to.deep.equal([1]);
      expect(list.body.items[0]).to.not.have.property("composeYaml");
      const detail = await api.get<{ latestRelease: { id: string } }>(
        `/v1/orgs/${org.orgId}/stacks/${stack.id}`,
        org.admin.auth,
      );
      expect(detail.body.latestRelease.id).to.equal(created.id);
      expect((await api.get(`/v1/releases/${created.id}`, other.admin.auth)).status).to.equal(404);
    });

    it("rejects bad compose files with the validator's code (422) and oversized ones with 413", async () => {
      const stack = await createStack("rel-invalid");
      const cases: Array<[string, string]> = [
        ["services:\n  web:\n    image: [unclosed\n", "COMPOSE_INVALID_YAML"],
        ["version: '3'\n", "COMPOSE_NO_SERVICES"],
        ["services:\n  web:\n    build: .\n", "COMPOSE_SERVICE_WITHOUT_IMAGE"],
        ["services:\n  web:\n    image: a\n    deploy:\n      replicas: many\n", "COMPOSE_SCHEMA"],
        ["services:\n  web:\n    image: a\n    extends: base\n", "COMPOSE_UNSUPPORTED_BY_SWARM"],
      ];
      for (const [yaml, code] of cases) {
        const res = await postRelease<ErrorBody>(stack.id, { sourceType: "upload", composeYaml: yaml });
        expect(res.status, yaml).to.equal(422);
        expect(res.body.error.code, yaml).to.equal(code);
      }
      const invalidYaml = await postRelease<ErrorBody>(stack.id, {
        sourceType: "upload",
        composeYaml: "services:\n  web:\n    image: [unclosed\n",
      });
      expect(invalidYaml.body.error.details).to.have.property("line");
      const big = `services:\n  web:\n    image: nginx\n# ${"x".repeat(platform.config.stacks.composeMaxBytes)}\n`;
      const tooLarge = await postRelease<ErrorBody>(stack.id, { sourceType: "upload", composeYaml: big });
      expect(tooLarge.status).to.equal(413);
      expect(tooLarge.body.error.code).to.equal("COMPOSE_TOO_LARGE");
      const badShape = await postRelease<ErrorBody>(stack.id, { sourceType: "upload" });
      expect(badShape.status).to.equal(400);
      expect(await db("stack_releases").where({ stack_id: stack.id })).to.have.length(0);
    });

    it("numbers 20 parallel creations 1..20 without gaps or duplicates", async () => {
      const stack = await createStack("rel-parallel");
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          postRelease(stack.id, { sourceType: "upload", composeYaml: `services:\n  web:\n    image: nginx:1.${i}\n` }),
        ),
      );
      expect(results.map((r) => r.status)).to.deep.equal(Array(20).fill(201));
      const versions = results.map((r) => r.body.version).sort((a, b) => a - b);
      expect(versions).to.deep.equal(Array.from({ length: 20 }, (_, i) => i + 1));
    });

    it("has no update route (405 with Allow) and the database refuses updates too", async () => {
      const stack = await createStack("rel-immutable");
      const release = await upload(stack.id, RELEASE_1);
      for (const method of ["PUT", "PATCH", "DELETE"]) {
        const res = await fetch(`${platform.baseUrl}/v1/releases/${release.id}`, {
          method,
          headers: { ...org.admin.auth, "content-type": "application/json" },
          body: JSON.stringify({ composeYaml: RELEASE_2 }),
        });
        expect(res.status, method).to.equal(405);
        expect(res.headers.get("allow")).to.equal("GET");
        expect(((await res.json()) as ErrorBody).error.code).to.equal("METHOD_NOT_ALLOWED");
      }
      let refused: unknown;
      try {
        await db("stack_releases").where({ id: release.id }).update({ compose_yaml: RELEASE_2 });
      } catch (err) {
        refused = err;
      }
      expect((refused as { code?: string } | undefined)?.code).to.equal("23001");
      const [row] = await db("stack_releases").where({ id: release.id });
      expect(row.compose_yaml).to.equal(RELEASE_1);
    });

    describe("from git", () => {
      let root: string;
      let repoUrl: string;
      let commit: string;

      before(() => {
        const repo = createTestGitRepo("stackyard-stacks-git-");
        const { work, bare, git } = repo;
        root = repo.root;
        mkdirSync(join(work, "deploy"), { recursive: true });
        writeFileSync(join(work, "deploy", "compose.yml"), RELEASE_2);
        git(work, "add", ".");
        git(work, "commit", "--quiet", "-m", "v1");
        commit = git(work, "rev-parse", "HEAD");
        git(work, "push", "--quiet", bare, "main");
        repoUrl = `file://${bare}`;
      });
      after(() => rmSync(root, { recursive: true, force: true }));

      it("resolves the ref to a commit and freezes the file", async () => {
        const stack = await createStack("rel-git");
        const res = await postRelease(stack.id, {
          sourceType: "git",
          git: { repoUrl, ref: "main", path: "deploy/compose.yml" },
        });
        expect(res.status, JSON.stringify(res.body)).to.equal(201);
        expect(res.body.sourceType).to.equal("git");
        expect(res.body.sourceRef).to.equal(`${repoUrl}@${commit}:deploy/compose.yml`);
        expect(res.body.composeYaml).to.equal(RELEASE_2);
      });

      it("answers 422 for an unknown ref or path", async () => {
        const stack = await createStack("rel-git-bad");
        const ref = await postRelease<ErrorBody>(stack.id, {
          sourceType: "git",
          git: { repoUrl, ref: "no-such-branch", path: "deploy/compose.yml" },
        });
        expect(ref.status).to.equal(422);
        expect(ref.body.error.code).to.equal("GIT_REF_NOT_FOUND");
        const path = await postRelease<ErrorBody>(stack.id, {
          sourceType: "git",
          git: { repoUrl, ref: "main", path: "missing.yml" },
        });
        expect(path.status).to.equal(422);
        expect(path.body.error.code).to.equal("GIT_PATH_NOT_FOUND");
      });
    });
  });

  describe("overlays, secrets, render and diff", () => {
    let stack: StackBody;
    let envId: string;
    let r1: ReleaseBody;
    let r2: ReleaseBody;
    const PASSWORD = "s3cret-Value-never-shown-4711";
    const ROTATED = "an0ther-secret-Value-0815";

    before(async () => {
      stack = await createStack("desired");
      envId = await createEnvironment(stack.id, "prod");
      r1 = await upload(stack.id, RELEASE_1);
      r2 = await upload(stack.id, RELEASE_2);
    });

    it("starts with an empty overlay and replaces it with a valid one", async () => {
      const empty = await api.get<{ envJson: unknown; composePatchYaml: string }>(
        `/v1/environments/${envId}/overlay`,
        org.admin.auth,
      );
      expect(empty.status).to.equal(200);
      expect(empty.body.envJson).to.deep.equal({});
      expect(empty.body.composePatchYaml).to.equal("");
      const overlay = {
        envJson: { global: { LOG_LEVEL: "info" }, services: { web: { WORKERS: "4" } } },
        composePatchYaml: "services:\n  web:\n    deploy:\n      replicas: 5\n",
      };
      const put = await api.request<{ envJson: unknown }>("PUT", `/v1/environments/${envId}/overlay`, {
        body: overlay,
        headers: org.admin.auth,
      });
      expect(put.status).to.equal(200);
      expect(put.body.envJson).to.deep.equal(overlay.envJson);
      const read = await api.get<{ composePatchYaml: string }>(`/v1/environments/${envId}/overlay`, org.admin.auth);
      expect(read.body.composePatchYaml).to.equal(overlay.composePatchYaml);
    });

    it("rejects an invalid overlay with 422 and keeps the previous one", async () => {
      const badEnv = await api.request<ErrorBody>("PUT", `/v1/environments/${envId}/overlay`, {
        body: { envJson: { global: { "1-bad name": "x" } }, composePatchYaml: "" },
        headers: org.admin.auth,
      });
      expect(badEnv.status).to.equal(422);
      expect(badEnv.body.error.code).to.equal("OVERLAY_ENV_INVALID");
      const badYaml = await api.request<ErrorBody>("PUT", `/v1/environments/${envId}/overlay`, {
        body: { envJson: {}, composePatchYaml: "services: [unclosed\n" },
        headers: org.admin.auth,
      });
      expect(badYaml.status).to.equal(422);
      expect(badYaml.body.error.code).to.equal("COMPOSE_INVALID_YAML");
      const notMapping = await api.request<ErrorBody>("PUT", `/v1/environments/${envId}/overlay`, {
        body: { envJson: {}, composePatchYaml: "- a\n- b\n" },
        headers: org.admin.auth,
      });
      expect(notMapping.status).to.equal(422);
      const read = await api.get<{ composePatchYaml: string }>(`/v1/environments/${envId}/overlay`, org.admin.auth);
      expect(read.body.composePatchYaml).to.include("replicas: 5");
      const viewer = await createUserWithRole(api, org, "VIEWER");
      const forbidden = await api.request("PUT", `/v1/environments/${envId}/overlay`, {
        body: { envJson: {}, composePatchYaml: "" },
        headers: viewer.auth,
      });
      expect(forbidden.status).to.equal(403);
      expect((await api.get(`/v1/environments/${envId}/overlay`, other.admin.auth)).status).to.equal(404);
    });

    it("creates (201) and rotates (200) a secret, stores only ciphertext and audits without the value", async () => {
      const created = await api.request<SecretBody>("PUT", `/v1/environments/${envId}/secrets/db_password`, {
        body: { value: PASSWORD, services: ["web"] },
        headers: org.admin.auth,
      });
      expect(created.status).to.equal(201);
      expect(created.body).to.include({ name: "db_password", version: 1, created: true });
      expect(JSON.stringify(created.body)).to.not.include(PASSWORD);
      const rotated = await api.request<SecretBody>("PUT", `/v1/environments/${envId}/secrets/db_password`, {
        body: { value: ROTATED, services: ["web"] },
        headers: org.admin.auth,
      });
      expect(rotated.status).to.equal(200);
      expect(rotated.body).to.include({ version: 2, created: false });

      const [row] = await db("environment_secrets").where({ environment_id: envId, name: "db_password" });
      const ciphertext = row.ciphertext as Buffer;
      expect(ciphertext.equals(Buffer.from(ROTATED))).to.equal(false);
      expect(ciphertext.includes(Buffer.from(ROTATED))).to.equal(false);
      expect(ciphertext.includes(Buffer.from(PASSWORD))).to.equal(false);

      const audit = await db("audit_events")
        .where({ org_id: org.orgId, target_id: envId })
        .whereIn("action", ["secret.create", "secret.rotate"])
        .orderBy("ts");
      expect(audit.map((a) => a.action)).to.deep.equal(["secret.create", "secret.rotate"]);
      expect(audit.map((a) => a.data_json.version)).to.deep.equal([1, 2]);
      const auditText = JSON.stringify(audit);
      expect(auditText).to.not.include(PASSWORD);
      expect(auditText).to.not.include(ROTATED);
    });

    it("lists secret metadata only, never a value", async () => {
      const list = await api.get<{ items: SecretBody[] }>(`/v1/environments/${envId}/secrets`, org.admin.auth);
      expect(list.status).to.equal(200);
      expect(list.body.items).to.have.length(1);
      expect(list.body.items[0]).to.include({ name: "db_password", version: 2 });
      expect(list.body.items[0]).to.not.have.property("value");
      expect(JSON.stringify(list.body)).to.not.include(ROTATED);
      const viewer = await createUserWithRole(api, org, "VIEWER");
      expect((await api.get(`/v1/environments/${envId}/secrets`, viewer.auth)).status).to.equal(200);
    });

    it("refuses secret writes to a token with only stacks:read", async () => {
      const token = await api.request<{ token: string }>("POST", `/v1/orgs/${org.orgId}/tokens`, {
        body: { name: "read-only", scopes: ["stacks:read"] },
        headers: org.admin.auth,
      });
      expect(token.status).to.equal(201);
      const auth = { authorization: `Bearer ${token.body.token}` };
      expect((await api.get(`/v1/environments/${envId}/secrets`, auth)).status).to.equal(200);
      const write = await api.request<ErrorBody>("PUT", `/v1/environments/${envId}/secrets/db_password`, {
        body: { value: "x" },
        headers: auth,
      });
      expect(write.status).to.equal(403);
      expect(
        (await api.request("DELETE", `/v1/environments/${envId}/secrets/db_password`, { headers: auth })).status,
      ).to.equal(403);
      const [row] = await db("environment_secrets").where({ environment_id: envId, name: "db_password" });
      expect(row.version).to.equal(2);
    });

    it("renders the desired state with versioned external secrets and no values", async () => {
      const res = await api.get<{
        releaseId: string;
        yaml: string;
        secretRefs: Array<{ name: string; externalName: string; services: string[] }>;
      }>(`/v1/environments/${envId}/render`, org.admin.auth);
      expect(res.status).to.equal(200);
      expect(res.body.releaseId).to.equal(r2.id);
      // `<swarm stack>_<name>_<hash of environment, row, version, content>`: the environment's own Swarm stack.
      const externalName = res.body.secretRefs[0]?.externalName ?? "";
      expect(externalName).to.match(/^desired-prod_db_password_[0-9a-f]{12}$/);
      expect(res.body.secretRefs).to.deep.equal([{ name: "db_password", version: 2, externalName, services: ["web"] }]);
      expect(res.body.yaml).to.include(externalName);
      expect(res.body.yaml).to.include(`io.stackyard.environment: "${envId}"`);
      expect(res.body.yaml).to.include("WORKERS");
      expect(res.body.yaml).to.include("replicas: 5");
      expect(res.body.yaml).to.not.include(ROTATED);
      expect(res.body.yaml).to.not.include(PASSWORD);

      const old = await api.get<{ releaseId: string; yaml: string }>(
        `/v1/environments/${envId}/render?releaseId=${r1.id}`,
        org.admin.auth,
      );
      expect(old.body.releaseId).to.equal(r1.id);
      expect(old.body.yaml).to.include("postgres:16");
      const foreignRelease = await upload((await createStack("desired-other")).id, RELEASE_1);
      const wrongStack = await api.get<ErrorBody>(
        `/v1/environments/${envId}/render?releaseId=${foreignRelease.id}`,
        org.admin.auth,
      );
      expect(wrongStack.status).to.equal(404);
      expect(wrongStack.body.error.code).to.equal("RELEASE_NOT_FOUND");
    });

    it("diffs from current (nothing deployed) to a release, and between two releases", async () => {
      type Diff = {
        from: { kind: string; releaseId: string | null };
        to: { releaseId: string };
        unified: string;
        services: {
          added: string[];
          removed: string[];
          changed: Array<{ name: string; image?: { from: string; to: string }; envKeys?: { added: string[] } }>;
        };
      };
      const fromNothing = await api.get<Diff>(
        `/v1/environments/${envId}/diff?from=current&to=${r1.id}`,
        org.admin.auth,
      );
      expect(fromNothing.status).to.equal(200);
      expect(fromNothing.body.from).to.deep.equal({ kind: "current", releaseId: null, releaseVersion: null });
      expect(fromNothing.body.services).to.deep.equal({ added: ["db", "web"], removed: [], changed: [] });
      expect(fromNothing.body.unified).to.include('+    image: "nginx:1.25"');

      const between = await api.get<Diff>(`/v1/environments/${envId}/diff?from=${r1.id}&to=${r2.id}`, org.admin.auth);
      expect(between.status).to.equal(200);
      expect(between.body.services.added).to.deep.equal(["worker"]);
      expect(between.body.services.removed).to.deep.equal(["db"]);
      const web = between.body.services.changed.find((c) => c.name === "web");
      expect(web?.image).to.deep.equal({ from: "nginx:1.25", to: "nginx:1.27" });
      expect(web?.envKeys?.added).to.deep.equal(["MODE"]);
      expect(between.body.unified).to.include('-    image: "nginx:1.25"');
      expect(between.body.unified).to.not.include(ROTATED);

      await db("deployments").insert({
        org_id: org.orgId,
        environment_id: envId,
        release_id: r1.id,
        status: "SUCCEEDED",
        finished_at: new Date(),
      });
      const fromCurrent = await api.get<Diff>(`/v1/environments/${envId}/diff`, org.admin.auth);
      expect(fromCurrent.body.from).to.deep.equal({ kind: "current", releaseId: r1.id, releaseVersion: 1 });
      expect(fromCurrent.body.to.releaseId).to.equal(r2.id);
      expect(fromCurrent.body.services.added).to.deep.equal(["worker"]);
      const badFrom = await api.get(`/v1/environments/${envId}/diff?from=latest`, org.admin.auth);
      expect(badFrom.status).to.equal(400);
    });

    it("deletes a secret (audited) and then no longer renders it", async () => {
      const del = await api.request<SecretBody>("DELETE", `/v1/environments/${envId}/secrets/db_password`, {
        headers: org.admin.auth,
      });
      expect(del.status).to.equal(200);
      expect(del.body.version).to.equal(2);
      const again = await api.request<ErrorBody>("DELETE", `/v1/environments/${envId}/secrets/db_password`, {
        headers: org.admin.auth,
      });
      expect(again.status).to.equal(404);
      expect(again.body.error.code).to.equal("SECRET_NOT_FOUND");
      const audit = await db("audit_events").where({ action: "secret.delete", target_id: envId });
      expect(audit).to.have.length(1);
      const render = await api.get<{ secretRefs: unknown[] }>(`/v1/environments/${envId}/render`, org.admin.auth);
      expect(render.body.secretRefs).to.deep.equal([]);
    });
  });

  describe("master keys at start", () => {
    it("refuses to start the stacks service under a master key that cannot decrypt the stored secrets", async () => {
      const stack = await createStack("keys");
      const envId = await createEnvironment(stack.id, "prod");
      const put = await api.request("PUT", `/v1/environments/${envId}/secrets/token`, {
        body: { value: "abc" },
        headers: org.admin.auth,
      });
      expect(put.status).to.equal(201);
      const broker = new ServiceBroker({ logger: false, transporter: null });
      const config = {
        ...platform.config,
        stacks: { ...platform.config.stacks, masterKeys: parseMasterKeys(testMasterKeySpec("wrong")) },
      };
      broker.createService(createStacksService({ config, db }));
      let failure: unknown;
      try {
        await broker.start();
      } catch (err) {
        failure = err;
      } finally {
        await broker.stop().catch(() => undefined);
      }
      expect(failure).to.be.instanceOf(MasterKeyConfigError);
      expect(String((failure as Error).message)).to.not.include("abc");

      const good = new ServiceBroker({ logger: false, transporter: null });
      good.createService(createStacksService({ config: platform.config, db }));
      await good.start();
      await good.stop();
    });
  });
});
