/** audit: the read side of the audit log (writes happen in each change's own transaction). */
import type { ServiceSchema } from "moleculer";
import type { Db } from "../_shared/db.js";
import type { CallContext } from "../_shared/principal.js";
import { actionScope } from "../_shared/service-context.js";
import type { RestParams } from "../api/routes.js";
import { listAudit, type AuditQuery } from "./audit.repo.js";

export const DEFAULT_AUDIT_PAGE_SIZE = 50;

export function createAuditService({ db }: { db: Db }): ServiceSchema {
  return {
    name: "audit",
    actions: {
      list(ctx: CallContext<RestParams<unknown, Partial<AuditQuery>>>) {
        const { scope } = actionScope(db, ctx);
        return listAudit(scope, { ...ctx.params.query, limit: ctx.params.query.limit ?? DEFAULT_AUDIT_PAGE_SIZE });
      },
    },
  };
}
