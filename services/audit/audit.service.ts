/** audit: the read side of the audit log (writes happen in each change's own transaction). */
import type { ServiceSchema } from "moleculer";
import type { Db } from "../_shared/db.js";
import type { OpCtx } from "../_shared/rest.js";
import { actionScope } from "../_shared/service-context.js";
import type { CallContext } from "../_shared/principal.js";
import { listAudit, recordAudit, type AuditEntry } from "./audit.repo.js";

export const DEFAULT_AUDIT_PAGE_SIZE = 50;

export function createAuditService({ db }: { db: Db }): ServiceSchema {
  return {
    name: "audit",
    actions: {
      list(ctx: OpCtx<"listAudit">) {
        const { scope } = actionScope(db, ctx);
        return listAudit(scope, { ...ctx.params.query, limit: ctx.params.query.limit ?? DEFAULT_AUDIT_PAGE_SIZE });
      },
      /**
       * Internal (no REST route): the gateway's record of a refused mutating request (services/api/refusal-audit.ts).
       * Its own transaction, since the refused action's (if any) was rolled back.
       */
      async recordRefusal(ctx: CallContext<{ entry: AuditEntry }>) {
        const { scope, request } = actionScope(db, ctx);
        await scope.transaction((tx) => recordAudit(tx, ctx.params.entry, request));
      },
    },
  };
}
