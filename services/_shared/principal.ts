/**
 * Who is calling: the reduced, verified identity the gateway puts in ctx.meta (it travels over NATS), plus
 * request facts the audit log records.
 */
import type { Context } from "moleculer";
import { UnauthorizedError } from "./errors.js";
import type { Permission, Role } from "./permissions.js";

export type ActorType = "user" | "token" | "agent" | "system";

export interface Principal {
  orgId: string;
  userId: string;
  email: string;
  role: Role;
  actorType: "user" | "token";
  /** The user id for sessions, the token id for API tokens. */
  actorId: string;
  /** Session family id (user sessions) — logout revokes it. */
  sessionId: string | null;
  tokenId: string | null;
  permissions: Permission[];
}

export interface RequestInfo {
  ip: string | null;
  userAgent: string | null;
}

export interface CallMeta {
  principal?: Principal | null;
  request?: RequestInfo;
  /** Response headers set by actions (moleculer-web reads $responseHeaders). */
  $responseHeaders?: Record<string, string>;
  $statusCode?: number;
}

export type CallContext<P = unknown> = Context<P, CallMeta>;

export function requirePrincipal(ctx: CallContext<unknown>): Principal {
  const principal = ctx.meta.principal;
  if (!principal) throw new UnauthorizedError("UNAUTHENTICATED", "authentication required");
  return principal;
}

export function requestInfo(ctx: CallContext<unknown>): RequestInfo {
  return ctx.meta.request ?? { ip: null, userAgent: null };
}
