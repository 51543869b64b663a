import { useParams } from "react-router-dom";

/** The org of the current URL; only used under the `/orgs/:orgId` route, which always has it. */
export function useOrgId(): string {
  const { orgId } = useParams();
  if (!orgId) throw new Error("useOrgId outside /orgs/:orgId");
  return orgId;
}
