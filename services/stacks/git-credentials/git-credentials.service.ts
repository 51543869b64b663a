/**
 * The git credential actions of the stacks service (spread into its `actions`): who may call each is declared in
 * openapi.yaml; each is one call into git-credentials.logic.ts.
 */
import type { Db } from "../../_shared/db.js";
import type { OpCtx } from "../../_shared/rest.js";
import { actionScope } from "../../_shared/service-context.js";
import type { MasterKeyGuard } from "../master-key-guard.js";
import {
  addHostKeys,
  createGitCredential,
  getGitCredentialView,
  listGitCredentialViews,
  removeGitCredential,
  type GitCredentialSettings,
} from "./git-credentials.logic.js";

export function gitCredentialActions(db: Db, settings: GitCredentialSettings, masterKey: MasterKeyGuard) {
  return {
    async createGitCredential(ctx: OpCtx<"createGitCredential">) {
      const { scope, principal, request } = actionScope(db, ctx);
      masterKey.assertUsable();
      return createGitCredential(scope, principal, ctx.params.body, settings, request);
    },
    listGitCredentials: (ctx: OpCtx<"listGitCredentials">) => listGitCredentialViews(actionScope(db, ctx).scope),
    getGitCredential: (ctx: OpCtx<"getGitCredential">) =>
      getGitCredentialView(actionScope(db, ctx).scope, ctx.params.params.credentialId),
    deleteGitCredential(ctx: OpCtx<"deleteGitCredential">) {
      const { scope, principal, request } = actionScope(db, ctx);
      return removeGitCredential(scope, principal, ctx.params.params.credentialId, request);
    },
    addGitCredentialHostKeys(ctx: OpCtx<"addGitCredentialHostKeys">) {
      const { scope, principal, request } = actionScope(db, ctx);
      return addHostKeys(scope, principal, ctx.params.params.credentialId, ctx.params.body, settings, request);
    },
  };
}
