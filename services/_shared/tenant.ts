/**
 * Tenancy in one place: every repository query of tenant data goes through a TenantScope, which always
 * filters (and stamps inserts) by the caller's org. A scope cannot be built without an org.
 */
import type { Knex } from "knex";
import type { Db } from "./db.js";

export const TENANT_TABLES = [
  "users",
  "sessions",
  "api_tokens",
  "clusters",
  "cluster_registration_tokens",
  "agent_credentials",
  "cluster_nodes",
  "stacks",
  "environments",
  "stack_releases",
  "stack_overlays",
  "environment_secrets",
  "git_credentials",
  "git_sync_sources",
  "preview_settings",
  "previews",
  "registry_credentials",
  "environment_registry_credentials",
  "deployments",
  "deployment_events",
  "deployment_idempotency_keys",
  "audit_events",
  "cluster_activity",
  "cluster_security_warnings",
  "compose_policies",
  "integration_credentials",
  "live_credentials",
  "user_mfa",
  "mfa_recovery_codes",
  "mfa_challenges",
  "notification_endpoints",
  "notification_deliveries",
  "alert_rules",
  "alerts",
  "alert_conditions",
  "alert_email_deliveries",
  "release_builds",
  "release_build_events",
  "cluster_ingress",
  "ingress_hosts",
  "ingress_routes",
  "ingress_certificates",
  "ingress_acme_challenges",
] as const;
export type TenantTable = (typeof TENANT_TABLES)[number];

export class MissingTenantError extends Error {
  override name = "MissingTenantError";
}

export class TenantScope {
  constructor(
    readonly db: Db | Knex.Transaction,
    readonly orgId: string,
  ) {
    if (!orgId) throw new MissingTenantError("a tenant scope needs an org id");
  }

  /** `select … from <table> where <table>.org_id = :org` — the start of every tenant query. */
  from<TRecord extends object = Record<string, unknown>>(table: TenantTable): Knex.QueryBuilder<TRecord> {
    return this.db<TRecord>(table).where(`${table}.org_id`, this.orgId);
  }

  /** Inserts rows stamped with the scope's org (an org_id in the input is overwritten, never trusted). */
  insert<TRow extends object>(table: TenantTable, rows: TRow | TRow[]): Knex.QueryBuilder {
    const list = Array.isArray(rows) ? rows : [rows];
    return this.db(table).insert(list.map((r) => ({ ...r, org_id: this.orgId })));
  }

  /** Runs `work` in a transaction with a scope bound to it (reuses the current one when already inside). */
  async transaction<T>(work: (scope: TenantScope) => Promise<T>): Promise<T> {
    if (this.db.isTransaction) return work(this);
    return (this.db as Db).transaction((trx) => work(new TenantScope(trx, this.orgId)));
  }
}

/**
 * The paths that act for no caller: they find the org in the data itself (a job, an agent's subject, a login's
 * email). Each one names itself, so that every bypass of a caller's tenant scope is visible in review.
 */
export type SystemPath =
  | "deploy-worker"
  | "event-writer"
  | "agent-ingest"
  | "login"
  | "maintenance"
  | "metrics"
  | "notifications"
  | "alerts"
  | "git-sync"
  | "previews"
  | "ingress"
  | "builds";

/** A tenant scope a system path opens for an org it read from the data, not from a caller. */
export function systemScope(db: Db | Knex.Transaction, orgId: string, _path: SystemPath): TenantScope {
  return new TenantScope(db, orgId);
}

/** The unscoped database handle of a system path (queries across orgs: sweeps, ingest, pre-auth lookups). */
export function systemDb<T extends Db | Knex.Transaction>(db: T, _path: SystemPath): T {
  return db;
}
