/** Every command this agent carries out, wired to the Docker engine and CLI. */
import type { AgentServices, CommandService } from "../agent.js";
import type { DockerCli } from "../docker/cli.js";
import type { DeployEngine } from "../deploy/types.js";
import { createGetStatusHandler } from "./status.js";
import { DeploymentManager, createDeploymentHandlers, type DeployTuning } from "./deployments.js";
import { createLogsHandler } from "./logs.js";
import { createRemoveStackHandler } from "./remove-stack.js";
import { createScaleHandler, type ScaleHandlerOptions } from "./scale.js";
import type { SwarmNodeUpdater, SwarmObjectStore, SwarmServiceUpdater } from "../docker/engine.js";
import { createUpdateNodeHandler } from "./update-node.js";
import { createUpdateServiceHandler } from "./update-service.js";

export interface CommandServiceDeps {
  engine: DeployEngine;
  cli: DockerCli;
  deploy?: DeployTuning;
  scale?: ScaleHandlerOptions;
  /** Without it the agent answers RemoveStack with NOT_SUPPORTED. */
  objects?: SwarmObjectStore;
  /** Without it the agent answers UpdateNode with NOT_SUPPORTED. */
  nodes?: SwarmNodeUpdater;
  /** Without it the agent answers UpdateService with NOT_SUPPORTED. */
  services?: SwarmServiceUpdater;
}

export function createCommandService(deps: CommandServiceDeps, services: AgentServices): CommandService {
  const deployments = new DeploymentManager({
    engine: deps.engine,
    cli: deps.cli,
    services,
    ...(deps.deploy ? { tuning: deps.deploy } : {}),
  });
  return {
    handlers: {
      ...createDeploymentHandlers(deployments),
      ScaleService: createScaleHandler(deps.engine, {
        now: services.now,
        runningDeployment: (stack) => deployments.runningOn(stack),
        ...deps.scale,
      }),
      GetLogs: createLogsHandler(deps.engine),
      GetStatus: createGetStatusHandler(deps.engine),
      ...(deps.objects
        ? {
            RemoveStack: createRemoveStackHandler(deps.objects, {
              now: services.now,
              runningDeployment: (stack) => deployments.runningOn(stack),
            }),
          }
        : {}),
      ...(deps.nodes ? { UpdateNode: createUpdateNodeHandler(deps.nodes) } : {}),
      ...(deps.services
        ? {
            UpdateService: createUpdateServiceHandler(deps.engine, deps.services, {
              runningDeployment: (stack) => deployments.runningOn(stack),
            }),
          }
        : {}),
    },
    drain: () => deployments.drain(),
  };
}
