/** The heartbeat: proof of life plus the Docker facts the control plane shows and derives status from. */
import type { DockerFacts, Heartbeat } from "../../nats/protocol/messages.js";
import type { DockerEngine } from "./docker/engine.js";
import { AGENT_VERSION } from "./version.js";

export interface HeartbeatSource {
  engine: Pick<DockerEngine, "info">;
  clusterId: string;
  hostname: string;
  startedAt: number;
  now: () => number;
  inventoryHash: () => string | null;
  natsMode?: "direct" | "leaf";
}

/** Never throws for Docker trouble: an unreachable engine is exactly what the control plane must hear about. */
export async function buildHeartbeat(src: HeartbeatSource): Promise<Heartbeat> {
  let docker: DockerFacts | null = null;
  let dockerError: string | null = null;
  try {
    const info = await src.engine.info();
    docker = {
      dockerVersion: info.dockerVersion,
      apiVersion: info.apiVersion,
      os: info.os,
      arch: info.arch,
      swarmState: info.swarmState,
      isManager: info.isManager,
      nodeId: info.nodeId,
      clusterId: info.clusterId,
      nodeCount: info.nodeCount,
      managerCount: info.managerCount,
    };
  } catch (err) {
    dockerError = (err instanceof Error ? err.message : String(err)).slice(0, 1024);
  }
  const sentAt = src.now();
  return {
    clusterId: src.clusterId,
    agentVersion: AGENT_VERSION,
    hostname: src.hostname.slice(0, 255),
    sentAt,
    startedAt: src.startedAt,
    uptimeSeconds: Math.max(0, Math.floor((sentAt - src.startedAt) / 1000)),
    docker,
    dockerError,
    inventoryHash: src.inventoryHash(),
    ...(src.natsMode ? { natsMode: src.natsMode } : {}),
  };
}
