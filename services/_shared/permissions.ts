/**
 * The one declarative permission table. Every route names the permission it needs (x-permission in
 * openapi.yaml); a caller's permissions are its role's, intersected with its API token's scopes.
 */

export const ROLES = ["ORG_ADMIN", "CLUSTER_ADMIN", "APP_ADMIN", "VIEWER"] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = [
  "orgs:read",
  "users:read",
  "users:write",
  "tokens:read",
  "tokens:write",
  "audit:read",
  "clusters:read",
  "clusters:write",
  "stacks:read",
  "stacks:write",
  "secrets:write",
  "deployments:read",
  "deployments:write",
  /**
   * A terminal in a running container (exec): reads whatever the container can (its secrets, its network), so it
   * is its own permission, implied by no other: ORG_ADMIN and CLUSTER_ADMIN (the cluster operators), not APP_ADMIN.
   */
  "exec:write",
  /** Integration credentials (NATS subscribers of the org's events): ORG_ADMIN only. */
  "integrations:read",
  "integrations:write",
  /** Outbound notification endpoints (their URLs can be credentials, e.g. Slack's): ORG_ADMIN only. */
  "notifications:read",
  "notifications:write",
  /** The alert history: every role. Rules (which route to endpoints and addresses): ORG_ADMIN only. */
  "alerts:read",
  "alerts:write",
  /** Acknowledge and silence an alert: the roles that operate (everyone but VIEWER). */
  "alerts:ack",
] as const;
export type Permission = (typeof PERMISSIONS)[number];

const READ: Permission[] = ["orgs:read", "clusters:read", "stacks:read", "deployments:read", "alerts:read"];

export const ROLE_PERMISSIONS: Record<Role, readonly Permission[]> = {
  ORG_ADMIN: PERMISSIONS,
  CLUSTER_ADMIN: [
    ...READ,
    "clusters:write",
    "deployments:write",
    "exec:write",
    "tokens:read",
    "tokens:write",
    "audit:read",
    "alerts:ack",
  ],
  APP_ADMIN: [
    ...READ,
    "stacks:write",
    "secrets:write",
    "deployments:write",
    "tokens:read",
    "tokens:write",
    "audit:read",
    "alerts:ack",
  ],
  VIEWER: READ,
};

export function isPermission(value: string): value is Permission {
  return (PERMISSIONS as readonly string[]).includes(value);
}

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

/** Role permissions, narrowed by token scopes when the caller is an API token. */
export function effectivePermissions(role: Role, scopes: readonly Permission[] | null): Permission[] {
  const granted = ROLE_PERMISSIONS[role];
  return scopes === null ? [...granted] : granted.filter((p) => scopes.includes(p));
}
