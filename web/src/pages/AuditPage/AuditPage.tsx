import { useMemo } from "react";
import { useSearchParams } from "react-router-dom";
import { useAudit } from "../../api/hooks/audit.js";
import { hasPermission, useMe } from "../../api/hooks/session.js";
import { useUsers } from "../../api/hooks/users.js";
import type { AuditFilters } from "../../api/keys.js";
import { useOrgId } from "../../app/useOrgId.js";
import { AuditView } from "./AuditView.js";

const FILTER_NAMES = ["from", "to", "actor", "action", "targetType", "targetId"] as const;

/** Filters live in the query string, so a filtered view can be bookmarked and shared. */
export function AuditPage() {
  const orgId = useOrgId();
  const me = useMe();
  const [params, setParams] = useSearchParams();
  const filters = useMemo(() => {
    const f: AuditFilters = {};
    for (const name of FILTER_NAMES) {
      const v = params.get(name);
      if (v) f[name] = v;
    }
    return f;
  }, [params]);
  const audit = useAudit(orgId, filters);
  const users = useUsers(orgId, hasPermission(me.data, "users:read"));

  const pages = audit.data;
  const items = pages?.flatMap((p) => p.items);
  const hasMore = Boolean(pages?.[pages.length - 1]?.nextCursor);
  const loadingMore = audit.isValidating && pages !== undefined && pages.length < audit.size;
  return (
    <AuditView
      filters={filters}
      onFilter={(f) => setParams(Object.fromEntries(Object.entries(f).filter((e): e is [string, string] => !!e[1])))}
      state={{ data: items, error: audit.error, isLoading: audit.isLoading, onRetry: () => void audit.mutate() }}
      users={users.data?.items ?? []}
      hasMore={hasMore}
      loadingMore={loadingMore}
      onLoadMore={() => void audit.setSize(audit.size + 1)}
    />
  );
}
