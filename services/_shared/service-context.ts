/** What every domain action needs from its context, in one place. */
import type { Db } from "./db.js";
import { requestInfo, requirePrincipal, type CallContext, type Principal, type RequestInfo } from "./principal.js";
import { TenantScope } from "./tenant.js";

export interface ActionScope {
  principal: Principal;
  scope: TenantScope;
  request: RequestInfo;
}

/** The caller, a tenant scope bound to the caller's org, and the request facts for the audit log. */
export function actionScope(db: Db, ctx: CallContext<unknown>): ActionScope {
  const principal = requirePrincipal(ctx);
  return { principal, scope: new TenantScope(db, principal.orgId), request: requestInfo(ctx) };
}
