/** audit: the read side of the audit log (writes happen in each change's own transaction). */
import type { ServiceSchema } from "moleculer";
import type { Db } from "../_shared/db.js";
import type { OpCtx } from "../_shared/rest.js";
import { actionScope } from "../_shared/service-context.js";
import { listAudit } from "./audit.repo.js";

export const DEFAULT_AUDIT_PAGE_SIZE = 50;

export function createAuditService({ db }: { db: Db }): ServiceSchema {
  return {
    name: "audit",
    actions: {
      list(ctx: OpCtx<"listAudit">) {
        const { scope } = actionScope(db, ctx);
        return listAudit(scope, { ...ctx.params.query, limit: ctx.params.query.limit ?? DEFAULT_AUDIT_PAGE_SIZE });
      },
    },
  };
}
