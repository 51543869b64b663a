/**
 * Whether a cluster's agent is there, as the environment pages need it: its derived status, when it was last
 * heard from, and since when it is offline (its last heartbeat, or its goodbye when it stopped on purpose).
 */
import type { TenantScope } from "../_shared/tenant.js";
import { effectiveStatus, type ClusterRow, type ClusterStatus } from "./views.js";

export interface AgentPresence {
  status: ClusterStatus;
  lastSeenAt: string | null;
  /** Set when status is offline or link_down: the agent has not been heard from since then (null: never). */
  offlineSince: string | null;
}

/** Not heard from: offline, or link_down (a leaf-mode site the hub cannot reach, maybe running and buffering). */
export const isSilent = (status: ClusterStatus): status is "offline" | "link_down" =>
  status === "offline" || status === "link_down";

/** How a silent agent is described in a sentence: "offline since …" or "unreachable (leaf link down) since …". */
export const silenceWords = (status: "offline" | "link_down"): string =>
  status === "link_down"
    ? "unreachable (its leaf's link to the hub is down; it may be running and buffering)"
    : "offline";

export async function agentPresence(
  scope: TenantScope,
  clusterId: string,
  offlineAfterSeconds: number,
  now = Date.now(),
): Promise<AgentPresence> {
  const row = (await scope.from("clusters").where({ id: clusterId }).first("status", "last_seen_at")) as
    Pick<ClusterRow, "status" | "last_seen_at"> | undefined;
  if (!row) return { status: "offline", lastSeenAt: null, offlineSince: null };
  const status = effectiveStatus(row, offlineAfterSeconds, now);
  const lastSeenAt = row.last_seen_at?.toISOString() ?? null;
  return { status, lastSeenAt, offlineSince: isSilent(status) ? lastSeenAt : null };
}
