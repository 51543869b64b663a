/** Checks the agent can do its job on this host before it registers or starts serving. */
import type { DockerEngine, EngineInfo } from "./docker/engine.js";
import { AgentError } from "./errors.js";

export async function checkDockerReady(engine: Pick<DockerEngine, "info">, socket: string): Promise<EngineInfo> {
  let info: EngineInfo;
  try {
    info = await engine.info();
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new AgentError(
      "DOCKER_UNAVAILABLE",
      `cannot reach the Docker engine at ${socket}: ${detail}. Is Docker running, and may this user use its socket?`,
      { cause: err },
    );
  }
  if (info.swarmState !== "active") {
    throw new AgentError(
      "NOT_IN_SWARM",
      `this Docker engine is not part of a swarm (state: ${info.swarmState}); run "docker swarm init" or join one, ` +
        "then run the agent on a manager node",
    );
  }
  if (!info.isManager) {
    throw new AgentError(
      "NOT_SWARM_MANAGER",
      "this node is a swarm worker; the agent must run on a manager (docker node ls lists the managers)",
    );
  }
  return info;
}
