import { readdirSync } from "node:fs";
import { expect } from "chai";
import { createDb, migrateLatest, migrateRollbackAll, pendingMigrations, type Db } from "./db.js";
import { MIGRATIONS_DIR } from "./paths.js";
import { ensureProcessDatabase, testDatabaseUrl, truncateAll } from "./testing/database.js";

/** Canary: every table and column the domain needs. A schema change without a migration breaks this. */
const EXPECTED_COLUMNS: Record<string, string[]> = {
  registry_credentials: [
    "id",
    "org_id",
    "name",
    "registry",
    "username",
    "version",
    "ciphertext",
    "nonce",
    "auth_tag",
    "key_id",
    "created_at",
    "updated_at",
    "updated_by",
  ],
  environment_registry_credentials: ["org_id", "environment_id", "credential_id", "registry", "created_at"],
  orgs: ["id", "name", "created_at", "mfa_required_for", "preview_quota"],
  users: ["id", "org_id", "email", "password_hash", "role", "created_at", "last_login_at"],
  sessions: [
    "id",
    "org_id",
    "user_id",
    "family_id",
    "parent_id",
    "token_hash",
    "created_at",
    "expires_at",
    "used_at",
    "revoked_at",
    "ip",
    "user_agent",
  ],
  api_tokens: [
    "id",
    "org_id",
    "created_by",
    "name",
    "token_prefix",
    "token_hash",
    "scopes",
    "expires_at",
    "created_at",
    "revoked_at",
    "last_used_at",
    "parent_token_id",
  ],
  clusters: [
    "id",
    "org_id",
    "name",
    "agent_id",
    "status",
    "last_seen_at",
    "facts_json",
    "created_at",
    "inventory_json",
    "inventory_hash",
    "inventory_at",
  ],
  cluster_registration_tokens: [
    "id",
    "org_id",
    "cluster_id",
    "token_hash",
    "expires_at",
    "used_at",
    "created_by",
    "created_at",
  ],
  agent_credentials: [
    "id",
    "org_id",
    "cluster_id",
    "public_nkey",
    "jwt_id",
    "issued_at",
    "expires_at",
    "revoked_at",
    "seal_public_key",
  ],
  cluster_nodes: [
    "id",
    "org_id",
    "cluster_id",
    "node_id",
    "hostname",
    "role",
    "availability",
    "status",
    "labels_json",
    "resources_json",
    "updated_at",
  ],
  stacks: ["id", "org_id", "name", "description", "created_by", "created_at"],
  environments: [
    "id",
    "org_id",
    "stack_id",
    "name",
    "cluster_id",
    "deploy_timeout_seconds",
    "created_at",
    "swarm_stack",
    "on_failure",
    "replica_overrides",
    "sync_mode",
    "sync_source_id",
    "pinned_at",
    "pinned_reason",
    "pinned_by",
    "image_resolution",
    "cluster_changed_at",
    "pipeline_position",
    "approval_required",
    "approval_role",
  ],
  stack_releases: [
    "id",
    "org_id",
    "stack_id",
    "version",
    "source_type",
    "source_ref",
    "compose_yaml",
    "compose_sha256",
    "warnings_json",
    "created_at",
    "created_by",
    "manifest_yaml",
    "manifest_json",
    "build_status",
    "source_compose_yaml",
  ],
  release_builds: [
    "id",
    "org_id",
    "release_id",
    "environment_id",
    "cluster_id",
    "status",
    "commit",
    "registry",
    "images",
    "error_message",
    "error_code",
    "failed_service",
    "failed_step",
    "created_by",
    "created_at",
    "started_at",
    "finished_at",
  ],
  release_build_events: ["org_id", "build_id", "seq", "ts", "level", "message", "data_json"],
  stack_overlays: [
    "id",
    "org_id",
    "environment_id",
    "env_json",
    "secrets_json_metadata",
    "compose_patch_yaml",
    "updated_at",
    "updated_by",
  ],
  environment_secrets: [
    "id",
    "org_id",
    "environment_id",
    "name",
    "version",
    "ciphertext",
    "nonce",
    "auth_tag",
    "key_id",
    "services",
    "metadata_json",
    "created_at",
    "updated_at",
    "updated_by",
    "content_digest",
  ],
  deployments: [
    "id",
    "org_id",
    "environment_id",
    "release_id",
    "kind",
    "status",
    "created_at",
    "started_at",
    "finished_at",
    "created_by",
    "created_by_type",
    "error_message",
    "rendered_yaml",
    "adopt",
    "error_code",
    "policy_violations",
    "rollback_of",
    "images",
    "promoted_from_deployment_id",
    "approval_decided_at",
    "approval_decided_by",
    "approval_decision",
    "approval_comment",
    "dispatch_seq",
  ],
  deployment_events: ["org_id", "deployment_id", "seq", "ts", "level", "message", "data_json"],
  deployment_idempotency_keys: ["org_id", "key", "request_hash", "deployment_id", "created_at", "expires_at"],
  login_throttle: ["key", "failures", "window_started_at", "locked_until"],
  login_trusted_sources: ["user_id", "ip", "last_success_at"],
  revoked_agent_keys: ["public_nkey", "revoked_at", "expires_at", "org_id"],
  nats_org_accounts: ["org_id", "account_public_key", "limits_json", "created_at", "pushed_at"],
  git_sync_sources: [
    "id",
    "org_id",
    "stack_id",
    "repo_url",
    "ref",
    "path",
    "credential_id",
    "poll_interval_seconds",
    "ciphertext",
    "nonce",
    "auth_tag",
    "key_id",
    "last_commit",
    "last_tree_id",
    "last_release_id",
    "last_checked_at",
    "last_error_code",
    "last_error_message",
    "next_poll_at",
    "created_by",
    "created_at",
  ],
  git_webhook_deliveries: ["source_id", "delivery_id", "received_at"],
  preview_settings: [
    "stack_id",
    "org_id",
    "enabled",
    "source_id",
    "template_environment_id",
    "copy_secrets",
    "cpu_limit",
    "memory_limit",
    "ttl_seconds",
    "url_host",
    "forge_kind",
    "forge_api_url",
    "forge_repo",
    "token_ciphertext",
    "token_nonce",
    "token_auth_tag",
    "token_key_id",
    "updated_by",
    "updated_at",
  ],
  previews: [
    "id",
    "org_id",
    "stack_id",
    "environment_id",
    "pr_number",
    "title",
    "branch",
    "head_commit",
    "release_id",
    "deployment_id",
    "status",
    "url",
    "error_code",
    "error_message",
    "last_activity_at",
    "created_at",
    "destroyed_at",
    "destroy_reason",
    "build_id",
  ],
  git_credentials: [
    "id",
    "org_id",
    "name",
    "kind",
    "public_key",
    "key_fingerprint",
    "username",
    "ciphertext",
    "nonce",
    "auth_tag",
    "key_id",
    "known_hosts",
    "created_by",
    "created_at",
    "updated_at",
  ],
  cluster_activity: ["id", "org_id", "cluster_id", "ts", "received_at", "type", "action", "object_id", "name"],
  cluster_security_warnings: [
    "id",
    "org_id",
    "cluster_id",
    "code",
    "reason",
    "command_type",
    "command_id",
    "subject",
    "count",
    "first_seen_at",
    "last_seen_at",
    "acknowledged_at",
    "acknowledged_by_type",
    "acknowledged_by",
  ],
  compose_policies: ["id", "org_id", "cluster_id", "rules_json", "bind_allow_list", "updated_by", "updated_at"],
  integration_credentials: [
    "id",
    "org_id",
    "name",
    "public_nkey",
    "jwt_id",
    "created_by_type",
    "created_by",
    "created_at",
    "expires_at",
    "revoked_at",
  ],
  live_credentials: [
    "public_nkey",
    "org_id",
    "user_id",
    "session_id",
    "token_id",
    "created_at",
    "expires_at",
    "revoked_at",
  ],
  user_mfa: [
    "id",
    "user_id",
    "org_id",
    "ciphertext",
    "nonce",
    "auth_tag",
    "key_id",
    "created_at",
    "confirmed_at",
    "last_used_step",
  ],
  mfa_recovery_codes: ["id", "org_id", "user_id", "code_hash", "created_at", "used_at"],
  mfa_challenges: ["id", "org_id", "user_id", "token_hash", "purpose", "created_at", "expires_at", "used_at"],
  cluster_ingress: [
    "cluster_id",
    "org_id",
    "image",
    "service_name",
    "network_name",
    "http_port",
    "https_port",
    "acme_directory_url",
    "acme_email",
    "revision",
    "applied_revision",
    "applied_config_name",
    "applied_at",
    "created_at",
    "updated_at",
  ],
  ingress_hosts: ["host", "org_id", "created_at"],
  ingress_routes: [
    "id",
    "org_id",
    "cluster_id",
    "environment_id",
    "host",
    "path_prefix",
    "service",
    "port",
    "tls",
    "position",
    "created_at",
  ],
  ingress_certificates: [
    "id",
    "org_id",
    "cluster_id",
    "host",
    "source",
    "certificate_pem",
    "key_ciphertext",
    "key_nonce",
    "key_auth_tag",
    "key_id",
    "serial",
    "issuer",
    "not_before",
    "not_after",
    "created_at",
    "replaced_at",
  ],
  ingress_acme_challenges: ["token", "org_id", "cluster_id", "host", "key_authorization", "created_at"],
  acme_accounts: [
    "directory_url",
    "key_ciphertext",
    "key_nonce",
    "key_auth_tag",
    "key_id",
    "account_url",
    "created_at",
  ],
  notification_endpoints: [
    "id",
    "org_id",
    "name",
    "url",
    "format",
    "event_types",
    "enabled",
    "ciphertext",
    "nonce",
    "auth_tag",
    "key_id",
    "created_by_type",
    "created_by",
    "created_at",
    "updated_at",
  ],
  notification_deliveries: [
    "id",
    "org_id",
    "endpoint_id",
    "event_id",
    "event_type",
    "event",
    "status",
    "attempts",
    "next_attempt_at",
    "leased_until",
    "last_status_code",
    "last_error",
    "created_at",
    "delivered_at",
  ],
  notification_attempts: ["id", "delivery_id", "attempt", "status_code", "error", "duration_ms", "at"],
  alert_rules: [
    "id",
    "org_id",
    "name",
    "kind",
    "severity",
    "window_seconds",
    "quiet_seconds",
    "threshold",
    "cluster_id",
    "environment_id",
    "endpoint_ids",
    "email_recipients",
    "enabled",
    "next_eval_at",
    "created_by_type",
    "created_by",
    "created_at",
    "updated_at",
  ],
  alerts: [
    "id",
    "org_id",
    "rule_id",
    "rule_name",
    "kind",
    "severity",
    "subject",
    "summary",
    "details",
    "status",
    "since",
    "fired_at",
    "resolved_at",
    "acknowledged_at",
    "acknowledged_by_type",
    "acknowledged_by",
    "silenced_until",
    "silenced_by",
  ],
  alert_conditions: ["rule_id", "org_id", "subject", "since"],
  alert_email_deliveries: [
    "id",
    "org_id",
    "alert_id",
    "transition",
    "recipients",
    "status",
    "attempts",
    "next_attempt_at",
    "leased_until",
    "last_error",
    "created_at",
    "delivered_at",
  ],
  audit_events: [
    "id",
    "org_id",
    "actor_type",
    "actor_id",
    "action",
    "target_type",
    "target_id",
    "ts",
    "ip",
    "user_agent",
    "data_json",
  ],
};

async function columnsByTable(db: Db): Promise<Record<string, string[]>> {
  const rows = await db
    .select<{ table_name: string; column_name: string }[]>("table_name", "column_name")
    .from("information_schema.columns")
    .where("table_schema", "public")
    .whereNot("table_name", "like", "knex_%")
    .orderBy(["table_name", "ordinal_position"]);
  const result: Record<string, string[]> = {};
  for (const r of rows) (result[r.table_name] ??= []).push(r.column_name);
  return result;
}

async function seedRelease(db: Db): Promise<{ orgId: string; releaseId: string }> {
  const [org] = await db("orgs").insert({ name: "acme" }).returning("id");
  const [stack] = await db("stacks").insert({ org_id: org.id, name: "web" }).returning("id");
  const [release] = await db("stack_releases")
    .insert({
      org_id: org.id,
      stack_id: stack.id,
      version: 1,
      source_type: "upload",
      compose_yaml: "services: {}\n",
      compose_sha256: "a".repeat(64),
    })
    .returning("id");
  return { orgId: org.id, releaseId: release.id };
}

describe("migrations (real Postgres)", function () {
  this.timeout(60_000);
  let db: Db;

  before(async () => {
    await ensureProcessDatabase();
    db = createDb(testDatabaseUrl(), 3);
  });
  after(async () => {
    await migrateLatest(db);
    await db.destroy();
  });

  it("go up, all the way down and up again", async () => {
    await migrateLatest(db);
    expect(await pendingMigrations(db)).to.deep.equal([]);
    const reverted = await migrateRollbackAll(db);
    // Every migration file, newest first: each one has a down that runs.
    const files = readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith(".ts"));
    expect(reverted).to.deep.equal(files.sort().reverse());
    expect(await columnsByTable(db)).to.deep.equal({});
    await migrateLatest(db);
    expect(await pendingMigrations(db)).to.deep.equal([]);
  });

  it("create every table with the expected columns", async () => {
    expect(await columnsByTable(db)).to.deep.equal(EXPECTED_COLUMNS);
  });

  describe("constraints", () => {
    beforeEach(() => truncateAll(db));

    it("reject any update of a release's compose content (trigger)", async () => {
      const { releaseId } = await seedRelease(db);
      let error: unknown;
      try {
        await db("stack_releases").where({ id: releaseId }).update({ compose_yaml: "services: {x: {image: y}}\n" });
      } catch (err) {
        error = err;
      }
      expect(error).to.have.property("code", "23001");
      expect(String((error as Error).message)).to.match(/is immutable/);
      const [row] = await db("stack_releases").where({ id: releaseId }).select("compose_yaml");
      expect(row.compose_yaml).to.equal("services: {}\n");
    });

    it("let a building release receive its frozen compose once, with ready, and nothing after (trigger)", async () => {
      const { releaseId } = await seedRelease(db);
      const refused = async (change: Record<string, unknown>) => {
        try {
          await db("stack_releases").where({ id: releaseId }).update(change);
          return null;
        } catch (err) {
          return (err as { code?: string }).code ?? "unknown";
        }
      };
      // An ordinary release never starts building.
      expect(await refused({ build_status: "building" })).to.equal("23001");
      await db.raw("alter table stack_releases disable trigger stack_releases_immutable");
      await db("stack_releases").where({ id: releaseId }).update({ build_status: "building" });
      await db.raw("alter table stack_releases enable trigger stack_releases_immutable");
      // Still building: the compose stays as committed.
      expect(await refused({ compose_yaml: "services: {x: {image: y}}\n" })).to.equal("23001");
      expect(await refused({ build_status: "ready", compose_yaml: "services: {x: {image: y}}\n" })).to.equal(null);
      expect(await refused({ compose_yaml: "services: {z: {image: y}}\n" })).to.equal("23001");
      expect(await refused({ build_status: "failed" })).to.equal("23001");
      const [row] = await db("stack_releases").where({ id: releaseId }).select("compose_yaml", "build_status");
      expect(row).to.deep.equal({ compose_yaml: "services: {x: {image: y}}\n", build_status: "ready" });
    });

    it("reject enum values outside the allowed set", async () => {
      const [org] = await db("orgs").insert({ name: "acme" }).returning("id");
      let error: unknown;
      try {
        await db("users").insert({ org_id: org.id, email: "a@b.c", password_hash: "x", role: "ROOT" });
      } catch (err) {
        error = err;
      }
      expect(error).to.have.property("constraint", "users_role_valid");
    });

    it("keep deployment events unique per (deployment, seq)", async () => {
      const { orgId, releaseId } = await seedRelease(db);
      const [cluster] = await db("clusters").insert({ org_id: orgId, name: "c1" }).returning("id");
      const [stack] = await db("stacks").where({ org_id: orgId }).select("id");
      const [env] = await db("environments")
        .insert({ org_id: orgId, stack_id: stack.id, name: "prod", cluster_id: cluster.id, swarm_stack: "web-prod" })
        .returning("id");
      const [dep] = await db("deployments")
        .insert({ org_id: orgId, environment_id: env.id, release_id: releaseId })
        .returning("id");
      const event = { org_id: orgId, deployment_id: dep.id, seq: 1, level: "info", message: "hello" };
      await db("deployment_events").insert(event);
      const second = await db("deployment_events")
        .insert(event)
        .onConflict(["deployment_id", "seq"])
        .ignore()
        .returning("seq");
      expect(second).to.have.length(0);
    });

    it("keep a Swarm stack name to one environment per cluster, and refuse names Swarm would not take", async () => {
      const { orgId } = await seedRelease(db);
      const [c1] = await db("clusters").insert({ org_id: orgId, name: "c1" }).returning("id");
      const [c2] = await db("clusters").insert({ org_id: orgId, name: "c2" }).returning("id");
      const [stack] = await db("stacks").where({ org_id: orgId }).select("id");
      const env = (name: string, cluster: string, swarmStack: string) =>
        db("environments").insert({
          org_id: orgId,
          stack_id: stack.id,
          name,
          cluster_id: cluster,
          swarm_stack: swarmStack,
        });
      await env("dev", c1.id, "web-dev");
      await env("staging", c2.id, "web-dev"); // another cluster: fine
      const refused = async (p: Promise<unknown>) => {
        try {
          await p;
        } catch (err) {
          return err;
        }
        throw new Error("the insert was accepted");
      };
      expect(await refused(env("qa", c1.id, "web-dev"))).to.include({
        code: "23505",
        constraint: "environments_cluster_swarm_stack_unique",
      });
      expect(await refused(env("qa", c1.id, "Web_Dev"))).to.include({
        constraint: "environments_swarm_stack_format",
      });
      expect(await refused(env("qa", c1.id, null as unknown as string))).to.include({ code: "23502" });
    });

    it("backfill Swarm stacks: the environment that deployed last keeps its stack's name, the others get their own", async () => {
      const { orgId, releaseId } = await seedRelease(db);
      const [cluster] = await db("clusters").insert({ org_id: orgId, name: "c1" }).returning("id");
      const [stack] = await db("stacks").where({ org_id: orgId }).select("id");
      const ids: Record<string, string> = {};
      for (const name of ["dev", "prod", "qa"]) {
        const [row] = await db("environments")
          .insert({ org_id: orgId, stack_id: stack.id, name, cluster_id: cluster.id, swarm_stack: `tmp-${name}` })
          .returning("id");
        ids[name] = row.id;
      }
      const deployed = (env: string, at: string) =>
        db("deployments").insert({
          org_id: orgId,
          environment_id: ids[env],
          release_id: releaseId,
          status: "SUCCEEDED",
          finished_at: at,
        });
      await deployed("dev", "2026-01-01T00:00:00Z");
      await deployed("prod", "2026-02-01T00:00:00Z");
      // Re-run the three swarm-stack migrations over these rows, as an upgrade would.
      const migrations = [
        "20261201100400_add_environment_swarm_stack_unique_per_cluster",
        "20261201100300_require_environment_swarm_stack",
        "20261201100200_backfill_environment_swarm_stack",
      ];
      const load = async (name: string) =>
        (await import(`../../migrations/${name}.js`)) as { up(k: Db): Promise<void>; down(k: Db): Promise<void> };
      for (const name of migrations) await (await load(name)).down(db);
      for (const name of [...migrations].reverse()) await (await load(name)).up(db);
      const rows = await db("environments").select("name", "swarm_stack").orderBy("name");
      expect(rows).to.deep.equal([
        { name: "dev", swarm_stack: "web-dev" },
        { name: "prod", swarm_stack: "web" },
        { name: "qa", swarm_stack: "web-qa" },
      ]);
    });

    it("refuse a row that points at another org's parent", async () => {
      const { releaseId } = await seedRelease(db);
      const [other] = await db("orgs").insert({ name: "other" }).returning("id");
      const [stack] = await db("stacks").select("id");
      let error: unknown;
      try {
        await db("stack_releases").insert({
          org_id: other.id,
          stack_id: stack.id,
          version: 2,
          source_type: "upload",
          compose_yaml: "x",
          compose_sha256: "b".repeat(64),
        });
      } catch (err) {
        error = err;
      }
      expect(error).to.have.property("code", "23503");
      expect(releaseId).to.be.a("string");
    });
  });
});
