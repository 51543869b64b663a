import useSWRInfinite, { type SWRInfiniteResponse } from "swr/infinite";
import type { ApiError } from "../client.js";
import { keys, type ApiKey, type AuditFilters } from "../keys.js";
import type { AuditPage } from "../types.js";

/** Cursor paging: page n is fetched with the `nextCursor` of page n-1; a null cursor means the end. */
export function useAudit(orgId: string, filters: AuditFilters): SWRInfiniteResponse<AuditPage, ApiError> {
  return useSWRInfinite<AuditPage, ApiError>(
    (index: number, previous: AuditPage | null): ApiKey | null => {
      if (index === 0) return keys.auditPage(orgId, filters, null);
      if (!previous?.nextCursor) return null;
      return keys.auditPage(orgId, filters, previous.nextCursor);
    },
    { revalidateFirstPage: true },
  );
}
