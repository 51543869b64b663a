/**
 * Which cached reads an event of the catalogue (openapi/asyncapi.yaml) makes stale. A pure function of the subject,
 * so the mapping is tested without a browser: `stackyard.<orgId>.<topic>.<id>.<what…>` → path fragments; every SWR
 * key whose path contains one of them is revalidated.
 */
export function affectedPaths(orgId: string, subject: string): string[] {
  const prefix = `stackyard.${orgId}.`;
  if (!subject.startsWith(prefix)) return [];
  const [topic, id, ...rest] = subject.slice(prefix.length).split(".");
  if (!topic || !id) return [];
  const org = `/v1/orgs/${orgId}`;
  switch (topic) {
    case "deployments":
      // The environment (status, its deployments, diff), every open deployment page, and the stacks list's health.
      return [`/v1/environments/${id}`, "/v1/deployments/", `${org}/stacks`];
    case "releases":
      return [`/v1/stacks/${id}/releases`, `${org}/stacks`];
    case "environments":
      return [`/v1/environments/${id}`, "/environments"];
    case "clusters": {
      const cluster = `${org}/clusters/${id}`;
      if (rest[0] === "status") return [`${org}/clusters`];
      // The clusters list and the cluster's header count open warnings too.
      if (rest[0] === "security-warning") return [`${org}/clusters`];
      // Docker events: the activity feed, the nodes, and the runtime status of environments on that cluster.
      if (rest[0] === "docker") return [`${cluster}/activity`, `${cluster}/nodes`, "/status"];
      return [cluster];
    }
    case "audit":
      return [`${org}/audit`];
    default:
      return [];
  }
}

/** Whether an SWR cache key (an `[path, query]` array, or the string form useSWRInfinite keeps) is affected. */
export function keyIsAffected(key: unknown, fragments: ReadonlySet<string>): boolean {
  const path = Array.isArray(key) ? key[0] : key;
  if (typeof path !== "string") return false;
  for (const fragment of fragments) if (path.includes(fragment)) return true;
  return false;
}
