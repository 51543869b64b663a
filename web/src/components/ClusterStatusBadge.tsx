import type { ClusterStatus } from "../api/types.js";
import { StatusBadge } from "./StatusBadge.js";

/** What a cluster status means, in the words the badge's tooltip and the cluster page's notice use. */
export const CLUSTER_STATUS_MEANING: Record<ClusterStatus, string> = {
  pending: "No agent has registered yet.",
  online: "The agent's heartbeats arrive, from an active Swarm manager whose nodes are all ready.",
  degraded: "The agent's heartbeats arrive, but Docker, the Swarm or a node is not healthy.",
  offline:
    "The agent is not heard from: it stopped (on purpose or not), or, when it connects directly, its network is down. " +
    "For an agent in leaf mode whose site still reaches the hub, the agent itself is down.",
  link_down:
    "Link down: this leaf-mode cluster's site cannot reach the hub. The agent may be running and buffering: a deploy " +
    "in progress goes on, and its events arrive, in order, when the link returns. Or the whole site is down; the " +
    "hub cannot tell which until the link returns.",
  revoked: "The agent's credentials are revoked.",
};

/** The words on the badge: the API's status, with link_down spelled for people. */
export const clusterStatusLabel = (status: ClusterStatus): string => (status === "link_down" ? "link down" : status);

export function ClusterStatusBadge(props: { status: ClusterStatus }) {
  return <StatusBadge status={clusterStatusLabel(props.status)} title={CLUSTER_STATUS_MEANING[props.status]} />;
}
