/** auth: sessions, orgs, users and API tokens. Each action: who may call (openapi x-permission), one call into logic. */
import { UnauthorizedError } from "../_shared/errors.js";
import type { ServiceSchema } from "moleculer";
import type { Config } from "../_shared/config.js";
import type { Db } from "../_shared/db.js";
import { requestInfo, requirePrincipal, type CallMeta } from "../_shared/principal.js";
import type { OpCtx } from "../_shared/rest.js";
import { actionScope } from "../_shared/service-context.js";
import { systemDb } from "../_shared/tenant.js";
import { CREDENTIALS_REVOKED_EVENT } from "../_shared/bus-events.js";
import {
  completeMfaLogin,
  confirmLoginEnrollment,
  login,
  logout,
  refresh,
  startLoginEnrollment,
  whoAmI,
  type AuthDeps,
} from "./auth.logic.js";
import {
  confirmOwnEnrollment,
  disableOwnMfa,
  getMfaPolicy,
  mfaStatus,
  regenerateOwnRecoveryCodes,
  resetUserMfa,
  startOwnEnrollment,
  updateMfaPolicy,
  type MfaDeps,
} from "./mfa.logic.js";
import { authorizeOrgCreation, createOrg, listOrgs } from "./orgs.logic.js";
import { tokenHashKeys } from "./api-tokens.js";
import { createApiToken, listApiTokens, revokeApiToken } from "./tokens.logic.js";
import { changeOwnPassword, createUser, deleteUser, listUsers, updateUserRole } from "./users.logic.js";

export interface AuthServiceDeps {
  config: Config;
  db: Db;
}

export function createAuthService({ config, db }: AuthServiceDeps): ServiceSchema {
  // Login, refresh, logout and the MFA steps find the account (and so the org) from the credential itself.
  const mfa: MfaDeps = { db: systemDb(db, "login"), masterKeys: config.stacks.masterKeys };
  const deps: AuthDeps = {
    db: systemDb(db, "login"),
    mfa,
    accessTokens: {
      keys: config.auth.jwtKeys,
      issuer: config.auth.issuer,
      audience: config.auth.audience,
      ttlSeconds: config.auth.accessTokenTtlSeconds,
    },
    refreshTokenTtlSeconds: config.auth.refreshTokenTtlSeconds,
    sessionMaxLifetimeSeconds: config.auth.sessionMaxLifetimeSeconds,
  };

  const tokenPolicy = {
    hashKeys: tokenHashKeys(config.auth.jwtKeys),
    maxLifetimeDays: config.auth.apiTokenMaxLifetimeDays,
  };

  return {
    name: "auth",
    actions: {
      login: (ctx: OpCtx<"login">) => login(deps, ctx.params.body, requestInfo(ctx)),

      loginMfa: (ctx: OpCtx<"loginMfa">) => completeMfaLogin(deps, ctx.params.body, requestInfo(ctx)),

      startLoginMfaEnrollment: (ctx: OpCtx<"startLoginMfaEnrollment">) =>
        startLoginEnrollment(deps, ctx.params.body.challengeToken, requestInfo(ctx)),

      confirmLoginMfaEnrollment: (ctx: OpCtx<"confirmLoginMfaEnrollment">) =>
        confirmLoginEnrollment(deps, ctx.params.body, requestInfo(ctx)),

      getMfa: (ctx: OpCtx<"getMfa">) => mfaStatus(mfa, requirePrincipal(ctx)),

      startMfaEnrollment: (ctx: OpCtx<"startMfaEnrollment">) =>
        startOwnEnrollment(mfa, requirePrincipal(ctx), requestInfo(ctx)),

      confirmMfaEnrollment: (ctx: OpCtx<"confirmMfaEnrollment">) =>
        confirmOwnEnrollment(mfa, requirePrincipal(ctx), ctx.params.body.code, requestInfo(ctx)),

      regenerateMfaRecoveryCodes: (ctx: OpCtx<"regenerateMfaRecoveryCodes">) =>
        regenerateOwnRecoveryCodes(mfa, requirePrincipal(ctx), ctx.params.body.code, requestInfo(ctx)),

      disableMfa: (ctx: OpCtx<"disableMfa">) =>
        disableOwnMfa(mfa, requirePrincipal(ctx), ctx.params.body.code, requestInfo(ctx)),

      async resetUserMfa(ctx: OpCtx<"resetUserMfa">) {
        const { scope, principal, request } = actionScope(db, ctx);
        const result = await resetUserMfa(scope, principal, ctx.params.params.userId, request);
        await ctx.broadcast(CREDENTIALS_REVOKED_EVENT, { userId: result.userId });
        return result;
      },

      getMfaPolicy: (ctx: OpCtx<"getMfaPolicy">) => getMfaPolicy(actionScope(db, ctx).scope),

      async updateMfaPolicy(ctx: OpCtx<"updateMfaPolicy">) {
        const { scope, principal, request } = actionScope(db, ctx);
        const { policy, revokedUserIds } = await updateMfaPolicy(
          scope,
          principal,
          ctx.params.body.requiredFor,
          request,
        );
        if (revokedUserIds.length > 0) await ctx.broadcast(CREDENTIALS_REVOKED_EVENT, { userIds: revokedUserIds });
        return policy;
      },

      async refresh(ctx: OpCtx<"refresh">) {
        const presented = ctx.params.body.refreshToken;
        // The gateway has put the session cookie's token in the body already, when the browser sent one.
        if (presented === undefined) {
          throw new UnauthorizedError("REFRESH_TOKEN_MISSING", "no refresh token was sent: log in again");
        }
        const result = await refresh(deps, presented, requestInfo(ctx));
        if (!result.ok) {
          await ctx.broadcast(CREDENTIALS_REVOKED_EVENT, { sessionId: result.revokedFamilyId });
          throw result.error;
        }
        return result.tokens;
      },

      async logout(ctx: OpCtx<"logout">) {
        const familyId = await logout(deps, requirePrincipal(ctx), requestInfo(ctx));
        await ctx.broadcast(CREDENTIALS_REVOKED_EVENT, { sessionId: familyId });
        return null;
      },

      me: (ctx: OpCtx<"me">) => whoAmI(deps, requirePrincipal(ctx)),

      listOrgs: (ctx: OpCtx<"listOrgs">) => listOrgs(db, requirePrincipal(ctx)),

      async createOrg(ctx: OpCtx<"createOrg">) {
        const presented = (ctx.meta as CallMeta & { bootstrapToken?: string }).bootstrapToken;
        const request = requestInfo(ctx);
        const how = await authorizeOrgCreation(db, config.auth.bootstrapToken, presented, request);
        return createOrg(db, ctx.params.body, how, request);
      },

      listUsers: (ctx: OpCtx<"listUsers">) => listUsers(actionScope(db, ctx).scope),

      createUser(ctx: OpCtx<"createUser">) {
        const { scope, principal, request } = actionScope(db, ctx);
        return createUser(scope, principal, ctx.params.body, request);
      },

      async updateUser(ctx: OpCtx<"updateUser">) {
        const { scope, principal, request } = actionScope(db, ctx);
        const userId = ctx.params.params.userId;
        const user = await updateUserRole(scope, principal, userId, ctx.params.body.role, request);
        // Cached principals hold the old role's permissions.
        await ctx.broadcast(CREDENTIALS_REVOKED_EVENT, { userId });
        return user;
      },

      async deleteUser(ctx: OpCtx<"deleteUser">) {
        const { scope, principal, request } = actionScope(db, ctx);
        const userId = ctx.params.params.userId;
        const user = await deleteUser(scope, principal, userId, request);
        await ctx.broadcast(CREDENTIALS_REVOKED_EVENT, { userId });
        return user;
      },

      async changePassword(ctx: OpCtx<"changePassword">) {
        const principal = requirePrincipal(ctx);
        const result = await changeOwnPassword(systemDb(db, "login"), principal, ctx.params.body, requestInfo(ctx));
        // Drops every cached credential of the user; the current session is re-checked and stays live.
        await ctx.broadcast(CREDENTIALS_REVOKED_EVENT, { userId: principal.userId });
        return result;
      },

      createToken(ctx: OpCtx<"createToken">) {
        const { scope, principal, request } = actionScope(db, ctx);
        return createApiToken(scope, principal, ctx.params.body, request, tokenPolicy);
      },

      listTokens(ctx: OpCtx<"listTokens">) {
        const { scope, principal } = actionScope(db, ctx);
        return listApiTokens(scope, principal);
      },

      async revokeToken(ctx: OpCtx<"revokeToken">) {
        const { scope, principal, request } = actionScope(db, ctx);
        const token = await revokeApiToken(scope, principal, ctx.params.params.tokenId, request);
        await ctx.broadcast(CREDENTIALS_REVOKED_EVENT, { tokenId: token.id });
        return token;
      },
    },
  };
}
