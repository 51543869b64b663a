/**
 * Names for the ids an audit page mentions, so a reader sees "shop / prod" instead of "environment ffd8f276".
 * One query per kind of object on the page (never one per row), each through the page's tenant scope. An object
 * deleted since keeps the name its audit entry recorded (`data.name`), or none: the UI then shows the id.
 */
import type { TenantScope } from "../_shared/tenant.js";

interface Named {
  actorType: string;
  actorId: string | null;
  targetType: string | null;
  targetId: string | null;
  data: Record<string, unknown>;
}

type Lookup = (scope: TenantScope, ids: string[]) => Promise<Array<{ id: string; name: string }>>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const byName =
  (
    table:
      | "clusters"
      | "stacks"
      | "api_tokens"
      | "git_credentials"
      | "registry_credentials"
      | "integration_credentials"
      | "notification_endpoints"
      | "alert_rules",
  ): Lookup =>
  (scope, ids) =>
    scope.from(table).whereIn(`${table}.id`, ids).select(`${table}.id as id`, `${table}.name as name`);

/** How each target type is named; a type without an entry (session, operation, org) has no name to show. */
const TARGET_LOOKUPS: Record<string, Lookup> = {
  cluster: byName("clusters"),
  stack: byName("stacks"),
  api_token: byName("api_tokens"),
  git_credential: byName("git_credentials"),
  registry_credential: byName("registry_credentials"),
  integration_credential: byName("integration_credentials"),
  notification_endpoint: byName("notification_endpoints"),
  alert_rule: byName("alert_rules"),
  alert: (scope, ids) =>
    scope.from("alerts").whereIn("alerts.id", ids).select("alerts.id as id", "alerts.summary as name"),
  user: (scope, ids) => scope.from("users").whereIn("users.id", ids).select("users.id as id", "users.email as name"),
  environment: (scope, ids) =>
    scope
      .from("environments")
      .join("stacks", "stacks.id", "environments.stack_id")
      .whereIn("environments.id", ids)
      .select("environments.id as id", scope.db.raw("stacks.name || ' / ' || environments.name as name")),
  release: (scope, ids) =>
    scope
      .from("stack_releases")
      .join("stacks", "stacks.id", "stack_releases.stack_id")
      .whereIn("stack_releases.id", ids)
      .select("stack_releases.id as id", scope.db.raw("stacks.name || ' v' || stack_releases.version as name")),
  deployment: (scope, ids) =>
    scope
      .from("deployments")
      .join("environments", "environments.id", "deployments.environment_id")
      .join("stacks", "stacks.id", "environments.stack_id")
      .join("stack_releases", "stack_releases.id", "deployments.release_id")
      .whereIn("deployments.id", ids)
      .select(
        "deployments.id as id",
        scope.db.raw("stacks.name || ' / ' || environments.name || ' v' || stack_releases.version as name"),
      ),
};

/** Actors: users by email, API tokens by name, agents (their public key) by their cluster. */
const ACTOR_LOOKUPS: Record<string, Lookup> = {
  user: TARGET_LOOKUPS.user!,
  token: async (scope, ids) =>
    (await byName("api_tokens")(scope, ids)).map((t) => ({ id: t.id, name: `token ${t.name}` })),
  agent: (scope, ids) =>
    scope
      .from("agent_credentials")
      .join("clusters", "clusters.id", "agent_credentials.cluster_id")
      .whereIn("agent_credentials.public_nkey", ids)
      .distinct("agent_credentials.public_nkey as id", scope.db.raw("'agent of ' || clusters.name as name")),
};

async function resolve(
  scope: TenantScope,
  lookups: Record<string, Lookup>,
  refs: Array<{ type: string | null; id: string | null }>,
): Promise<Map<string, string>> {
  const wanted = new Map<string, Set<string>>();
  for (const { type, id } of refs) {
    if (!type || !id || !lookups[type]) continue;
    // Ids of tables keyed by uuid must be uuids, or Postgres refuses the whole query.
    if (type !== "agent" && !UUID.test(id)) continue;
    const set = wanted.get(type) ?? new Set<string>();
    set.add(id);
    wanted.set(type, set);
  }
  const names = new Map<string, string>();
  await Promise.all(
    [...wanted].map(async ([type, ids]) => {
      for (const row of await lookups[type]!(scope, [...ids])) names.set(`${type}:${row.id}`, row.name);
    }),
  );
  return names;
}

export async function withNames<T extends Named>(
  scope: TenantScope,
  items: T[],
): Promise<Array<T & { actorName: string | null; targetName: string | null }>> {
  const [actors, targets] = await Promise.all([
    resolve(
      scope,
      ACTOR_LOOKUPS,
      items.map((e) => ({ type: e.actorType, id: e.actorId })),
    ),
    resolve(
      scope,
      TARGET_LOOKUPS,
      items.map((e) => ({ type: e.targetType, id: e.targetId })),
    ),
  ]);
  return items.map((e) => {
    const recorded = typeof e.data.name === "string" && e.data.name !== "" ? e.data.name : null;
    return {
      ...e,
      actorName: e.actorId ? (actors.get(`${e.actorType}:${e.actorId}`) ?? null) : null,
      targetName: e.targetId ? (targets.get(`${e.targetType}:${e.targetId}`) ?? recorded) : null,
    };
  });
}
