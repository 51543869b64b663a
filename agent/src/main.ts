/** The `stackyard-agent` command line. Exit codes: 0 success, 1 failure, 2 invalid configuration. */
import { hostname } from "node:os";
import { pathToFileURL } from "node:url";
import { runAgent, type AgentServices, type CommandService } from "./agent.js";
import { parseAgentConfig, USAGE } from "./config.js";
import { createDockerCli, type DockerCli } from "./docker/cli.js";
import { createDockerodeEngine } from "./docker/dockerode-engine.js";
import type { DeployEngine } from "./deploy/types.js";
import type {
  SwarmLogFollower,
  SwarmNodeUpdater,
  SwarmIngressApplier,
  SwarmObjectStore,
  SwarmServiceUpdater,
  TaskExecer,
} from "./docker/engine.js";
import { createDockerodeIngressApplier } from "./docker/ingress.js";
import { createDockerodeTaskExecer } from "./docker/task-exec.js";
import { AgentConfigError, AgentError } from "./errors.js";
import { createCommandService } from "./handlers/index.js";
import { createLogger } from "./logger.js";
import { registerAgent } from "./register.js";
import { createDockerBuildEngine, type BuildEngine } from "./build/docker-build.js";
import { AGENT_VERSION } from "./version.js";

/** The command types this build of the agent carries out. */
export function commandHandlers(
  engine: DeployEngine & SwarmObjectStore & SwarmNodeUpdater & SwarmServiceUpdater & SwarmLogFollower,
  cli: DockerCli,
  execer?: TaskExecer,
  builder?: BuildEngine,
  ingress?: SwarmIngressApplier,
): (services: AgentServices) => CommandService {
  return (services) =>
    createCommandService(
      {
        engine,
        cli,
        objects: engine,
        nodes: engine,
        services: engine,
        follower: engine,
        ...(execer ? { execer } : {}),
        ...(builder ? { builder } : {}),
        ...(ingress ? { ingress } : {}),
      },
      services,
    );
}

export async function main(argv: string[], env: Record<string, string | undefined>): Promise<number> {
  let config;
  try {
    config = parseAgentConfig(argv, env);
  } catch (err) {
    if (err instanceof AgentConfigError) {
      console.error(`${err.message}\n\n${USAGE}`);
      return 2;
    }
    throw err;
  }
  if (config.command === "help") {
    console.log(USAGE);
    return 0;
  }
  if (config.command === "version") {
    console.log(AGENT_VERSION);
    return 0;
  }
  const log = createLogger({ level: config.logLevel, bindings: { agentVersion: AGENT_VERSION } });
  const engine = createDockerodeEngine({ socketPath: config.dockerSocket });
  try {
    if (config.command === "register") {
      await registerAgent(config, { engine, fetch, hostname: hostname(), log, now: Date.now });
      return 0;
    }
    const cli = createDockerCli({ socketPath: config.dockerSocket });
    const agent = await runAgent(config, {
      engine,
      handlers: commandHandlers(
        engine,
        cli,
        createDockerodeTaskExecer({ socketPath: config.dockerSocket }),
        createDockerBuildEngine({ socketPath: config.dockerSocket }),
        createDockerodeIngressApplier({ socketPath: config.dockerSocket }),
      ),
      log,
      hostname: hostname(),
    });
    const stopped = new Promise<null>((resolve) => {
      const onSignal = (name: string) => () => {
        log.info("stopping", { signal: name });
        void agent.stop().then(() => resolve(null));
      };
      process.once("SIGTERM", onSignal("SIGTERM"));
      process.once("SIGINT", onSignal("SIGINT"));
    });
    const err = await Promise.race([agent.done, stopped]);
    if (err) {
      log.error(err.message, { code: err.code });
      return 1;
    }
    return 0;
  } catch (err) {
    if (err instanceof AgentError) {
      log.error(err.message, { code: err.code });
      return 1;
    }
    log.error("unexpected failure", { err });
    return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  void main(process.argv.slice(2), process.env).then((code) => process.exit(code));
}
