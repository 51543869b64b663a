/** Row → API shapes of the identity resources (the OpenAPI schemas User, Org, ApiToken). */
import type { Role, Permission } from "../_shared/permissions.js";

export interface UserRow {
  id: string;
  org_id: string;
  email: string;
  password_hash: string;
  role: Role;
  created_at: Date;
  last_login_at: Date | null;
}

export interface OrgRow {
  id: string;
  name: string;
  created_at: Date;
  /** Who must have a second factor to log in (services/auth/mfa.logic.ts). */
  mfa_required_for: "none" | "admins" | "all";
}

export interface ApiTokenRow {
  id: string;
  org_id: string;
  created_by: string;
  name: string;
  token_prefix: string;
  token_hash: string;
  scopes: Permission[];
  expires_at: Date | null;
  created_at: Date;
  revoked_at: Date | null;
  last_used_at: Date | null;
  parent_token_id: string | null;
}

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export const userView = (u: UserRow) => ({
  id: u.id,
  orgId: u.org_id,
  email: u.email,
  role: u.role,
  createdAt: u.created_at.toISOString(),
  lastLoginAt: iso(u.last_login_at),
});
export type UserView = ReturnType<typeof userView>;

export const orgView = (o: OrgRow) => ({ id: o.id, name: o.name, createdAt: o.created_at.toISOString() });
export type OrgView = ReturnType<typeof orgView>;

export const apiTokenView = (t: ApiTokenRow) => ({
  id: t.id,
  name: t.name,
  prefix: t.token_prefix,
  scopes: t.scopes,
  createdBy: t.created_by,
  createdAt: t.created_at.toISOString(),
  expiresAt: iso(t.expires_at),
  revokedAt: iso(t.revoked_at),
  lastUsedAt: iso(t.last_used_at),
});
export type ApiTokenView = ReturnType<typeof apiTokenView>;
