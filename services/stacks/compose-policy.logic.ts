/**
 * The stored compose policies (an org's, and per-cluster overrides), their routes (audited changes) and the
 * policy each check uses: the loosest one of the org at release upload, the environment's cluster's at deploy.
 */
import { NotFoundError, UnprocessableError } from "../_shared/errors.js";
import type { Principal, RequestInfo } from "../_shared/principal.js";
import type { OpBody } from "../_shared/rest.js";
import type { TenantScope } from "../_shared/tenant.js";
import { actorOf, recordAudit } from "../audit/index.js";
import {
  ALWAYS_RULES,
  DEFAULT_POLICY,
  effectivePolicy,
  loosestPolicy,
  normaliseAllowListEntry,
  OPTIONAL_RULES,
  type EffectivePolicy,
  type OptionalRule,
  type PolicyOverride,
} from "./compose-policy.js";

interface PolicyRow {
  id: string;
  org_id: string;
  cluster_id: string | null;
  rules_json: Record<string, unknown>;
  bind_allow_list: string[] | null;
  updated_by: string | null;
  updated_at: Date;
}

/** Known optional rules with a boolean value; anything else in the column (a retired rule) is ignored. */
function rulesOf(json: Record<string, unknown>): Partial<Record<OptionalRule, boolean>> {
  const out: Partial<Record<OptionalRule, boolean>> = {};
  for (const rule of OPTIONAL_RULES) {
    const value = json[rule];
    if (typeof value === "boolean") out[rule] = value;
  }
  return out;
}

function orgPolicyOf(row: PolicyRow | undefined): EffectivePolicy {
  if (!row) return DEFAULT_POLICY;
  return { rules: { ...DEFAULT_POLICY.rules, ...rulesOf(row.rules_json) }, bindAllowList: row.bind_allow_list ?? [] };
}

function overrideOf(row: PolicyRow | undefined): PolicyOverride | null {
  return row ? { rules: rulesOf(row.rules_json), bindAllowList: row.bind_allow_list } : null;
}

async function orgRow(scope: TenantScope, lock = false): Promise<PolicyRow | undefined> {
  const q = scope.from("compose_policies").whereNull("cluster_id");
  return (await (lock ? q.forUpdate() : q).first()) as PolicyRow | undefined;
}

async function clusterRow(scope: TenantScope, clusterId: string, lock = false): Promise<PolicyRow | undefined> {
  const q = scope.from("compose_policies").where({ cluster_id: clusterId });
  return (await (lock ? q.forUpdate() : q).first()) as PolicyRow | undefined;
}

/** The policy the deploy-time check applies on a cluster: the org's with the cluster's override. */
export async function composePolicyForCluster(scope: TenantScope, clusterId: string): Promise<EffectivePolicy> {
  const [org, cluster] = await Promise.all([orgRow(scope), clusterRow(scope, clusterId)]);
  return effectivePolicy(orgPolicyOf(org), overrideOf(cluster));
}

/** The policy a release upload is checked against: refused only what no cluster of the org would deploy. */
export async function composePolicyForUpload(scope: TenantScope): Promise<EffectivePolicy> {
  const rows = (await scope.from("compose_policies")) as PolicyRow[];
  const org = orgPolicyOf(rows.find((r) => r.cluster_id === null));
  const clusters = rows.filter((r) => r.cluster_id !== null).map((r) => effectivePolicy(org, overrideOf(r)));
  return loosestPolicy([org, ...clusters]);
}

const policyView = (policy: EffectivePolicy, row: PolicyRow | undefined) => ({
  rules: policy.rules,
  bindAllowList: policy.bindAllowList,
  alwaysEnforced: [...ALWAYS_RULES],
  updatedAt: row ? row.updated_at.toISOString() : null,
  updatedBy: row?.updated_by ?? null,
});

export async function getOrgComposePolicy(scope: TenantScope) {
  const row = await orgRow(scope);
  return policyView(orgPolicyOf(row), row);
}

/** An allow-list as stored: absolute, normalised, unique, sorted; a path it cannot judge is refused. */
function normaliseAllowList(list: readonly string[]): string[] {
  const out = new Set<string>();
  const invalid: string[] = [];
  for (const entry of list) {
    const normalised = normaliseAllowListEntry(entry);
    if (normalised === null) invalid.push(entry);
    else out.add(normalised);
  }
  if (invalid.length > 0) {
    throw new UnprocessableError(
      "COMPOSE_POLICY_INVALID_PATH",
      `allow-list entries must be absolute host paths without variables: ${invalid.join(", ")}`,
      { paths: invalid },
    );
  }
  return [...out].sort();
}

/** What an audit row says about a policy: the rules lifted and the allow-list (host paths, never a secret). */
function auditShape(rules: Partial<Record<OptionalRule, boolean>>, bindAllowList: string[] | null) {
  return {
    lifted: OPTIONAL_RULES.filter((r) => rules[r] === false),
    enforced: OPTIONAL_RULES.filter((r) => rules[r] === true),
    bindAllowList,
  };
}

export async function putOrgComposePolicy(
  scope: TenantScope,
  principal: Principal,
  body: OpBody<"putComposePolicy">,
  request: RequestInfo,
) {
  const bindAllowList = normaliseAllowList(body.bindAllowList);
  const rules = { ...DEFAULT_POLICY.rules, ...rulesOf(body.rules) };
  return scope.transaction(async (tx) => {
    // Two admins saving at once: the second waits and audits the first's result as its "before".
    await tx.db.raw("select pg_advisory_xact_lock(hashtext(?))", [`compose-policy:${scope.orgId}`]);
    const before = await orgRow(tx, true);
    const fields = {
      rules_json: JSON.stringify(rules),
      bind_allow_list: JSON.stringify(bindAllowList),
      updated_by: principal.userId,
      updated_at: tx.db.fn.now(),
    };
    const [row] = (
      before
        ? await tx.from("compose_policies").where({ id: before.id }).update(fields).returning("*")
        : await tx.insert("compose_policies", { ...fields, cluster_id: null }).returning("*")
    ) as PolicyRow[];
    const beforePolicy = orgPolicyOf(before);
    await recordAudit(
      tx,
      {
        ...actorOf(principal),
        action: "compose_policy.update",
        targetType: "org",
        targetId: scope.orgId,
        data: {
          before: auditShape(beforePolicy.rules, beforePolicy.bindAllowList),
          after: auditShape(rules, bindAllowList),
        },
      },
      request,
    );
    return policyView(orgPolicyOf(row), row);
  });
}

async function assertCluster(scope: TenantScope, clusterId: string): Promise<void> {
  if (!(await scope.from("clusters").where({ id: clusterId }).first("id"))) {
    throw new NotFoundError("CLUSTER_NOT_FOUND", "cluster not found");
  }
}

const clusterView = (clusterId: string, org: EffectivePolicy, row: PolicyRow | undefined) => {
  const override = overrideOf(row) ?? { rules: {}, bindAllowList: null };
  const effective = effectivePolicy(org, override);
  return {
    clusterId,
    override,
    effective: { rules: effective.rules, bindAllowList: effective.bindAllowList },
    updatedAt: row ? row.updated_at.toISOString() : null,
    updatedBy: row?.updated_by ?? null,
  };
};

export async function getClusterComposePolicy(scope: TenantScope, clusterId: string) {
  await assertCluster(scope, clusterId);
  const [org, row] = await Promise.all([orgRow(scope), clusterRow(scope, clusterId)]);
  return clusterView(clusterId, orgPolicyOf(org), row);
}

/** Replaces a cluster's override; no rule and no allow-list of its own removes the row. */
export async function putClusterComposePolicy(
  scope: TenantScope,
  principal: Principal,
  clusterId: string,
  body: OpBody<"putClusterComposePolicy">,
  request: RequestInfo,
) {
  const rules = rulesOf(body.rules);
  const bindAllowList = body.bindAllowList === null ? null : normaliseAllowList(body.bindAllowList);
  return scope.transaction(async (tx) => {
    await assertCluster(tx, clusterId);
    await tx.db.raw("select pg_advisory_xact_lock(hashtext(?))", [`compose-policy:${scope.orgId}:${clusterId}`]);
    const before = await clusterRow(tx, clusterId, true);
    const empty = Object.keys(rules).length === 0 && bindAllowList === null;
    let row: PolicyRow | undefined;
    if (empty) {
      if (before) await tx.from("compose_policies").where({ id: before.id }).delete();
    } else {
      const fields = {
        rules_json: JSON.stringify(rules),
        bind_allow_list: bindAllowList === null ? null : JSON.stringify(bindAllowList),
        updated_by: principal.userId,
        updated_at: tx.db.fn.now(),
      };
      [row] = (
        before
          ? await tx.from("compose_policies").where({ id: before.id }).update(fields).returning("*")
          : await tx.insert("compose_policies", { ...fields, cluster_id: clusterId }).returning("*")
      ) as PolicyRow[];
    }
    const beforeOverride = overrideOf(before);
    await recordAudit(
      tx,
      {
        ...actorOf(principal),
        action: "cluster.compose_policy.update",
        targetType: "cluster",
        targetId: clusterId,
        data: {
          before: beforeOverride ? auditShape(beforeOverride.rules, beforeOverride.bindAllowList) : null,
          after: empty ? null : auditShape(rules, bindAllowList),
        },
      },
      request,
    );
    return clusterView(clusterId, orgPolicyOf(await orgRow(tx)), row);
  });
}
