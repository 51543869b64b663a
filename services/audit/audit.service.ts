/** audit: the read side of the audit log (writes happen in each change's own transaction). */
import type { ServiceSchema } from "moleculer";
import type { Db } from "../_shared/db.js";
import type { OpCtx } from "../_shared/rest.js";
import { actionScope } from "../_shared/service-context.js";
import type { Context } from "moleculer";
import { REQUEST_REFUSED_EVENT, type RequestRefused } from "../_shared/bus-events.js";
import { TenantScope } from "../_shared/tenant.js";
import { listAudit, recordAudit } from "./audit.repo.js";

export const DEFAULT_AUDIT_PAGE_SIZE = 50;

export function createAuditService({ db }: { db: Db }): ServiceSchema {
  return {
    name: "audit",
    events: {
      /** The gateway's record of a refused request; its own transaction (the refused action's was rolled back). */
      async [REQUEST_REFUSED_EVENT](ctx: Context<RequestRefused>) {
        const { orgId, entry, request } = ctx.params;
        await recordAudit(new TenantScope(db, orgId), entry, request);
      },
    },
    actions: {
      list(ctx: OpCtx<"listAudit">) {
        const { scope } = actionScope(db, ctx);
        return listAudit(scope, { ...ctx.params.query, limit: ctx.params.query.limit ?? DEFAULT_AUDIT_PAGE_SIZE });
      },
    },
  };
}
