/** Every command this agent carries out, wired to the Docker engine and CLI. */
import type { AgentServices, CommandService } from "../agent.js";
import type { DockerCli } from "../docker/cli.js";
import type { DeployEngine } from "../deploy/types.js";
import { createGetStatusHandler } from "./status.js";
import { DeploymentManager, createDeploymentHandlers, type DeployTuning } from "./deployments.js";
import { createLogsHandler, createSearchLogsHandler } from "./logs.js";
import { createRemoveStackHandler } from "./remove-stack.js";
import { createScaleHandler, type ScaleHandlerOptions } from "./scale.js";
import type {
  SwarmLogFollower,
  SwarmNodeUpdater,
  SwarmObjectStore,
  SwarmIngressApplier,
  SwarmServiceUpdater,
  TaskExecer,
} from "../docker/engine.js";
import { createApplyIngressHandler } from "./ingress.js";
import { agentSubjects, execInputSubject } from "../../../nats/protocol/subjects.js";
import { ExecSessionManager, type ExecLimits } from "./exec.js";
import { LogFollowManager, type LogFollowLimits } from "./log-follow.js";
import { createUpdateNodeHandler } from "./update-node.js";
import { createUpdateServiceHandler } from "./update-service.js";
import { BuildManager, createBuildHandlers } from "./builds.js";
import type { BuildEngine } from "../build/docker-build.js";

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
  /** Without it the agent answers FollowLogs, RenewLogs and StopLogs with NOT_SUPPORTED. */
  follower?: SwarmLogFollower;
  logFollow?: Partial<LogFollowLimits>;
  /** Without it the agent answers StartExec with NOT_SUPPORTED. */
  execer?: TaskExecer;
  exec?: Partial<ExecLimits>;
  /** Without it the agent answers BuildRelease and CancelBuild with NOT_SUPPORTED. */
  builder?: BuildEngine;
  /** Without it the agent answers ApplyIngress with NOT_SUPPORTED. */
  ingress?: SwarmIngressApplier;
}

export function createCommandService(deps: CommandServiceDeps, services: AgentServices): CommandService {
  const deployments = new DeploymentManager({
    engine: deps.engine,
    cli: deps.cli,
    services,
    ...(deps.deploy ? { tuning: deps.deploy } : {}),
  });
  const builds = deps.builder ? new BuildManager({ engine: deps.builder, services }) : null;
  const subjects = agentSubjects(services.clusterId);
  const follows = deps.follower
    ? new LogFollowManager({
        engine: deps.engine,
        follower: deps.follower,
        clusterSubject: (followId) => subjects.logs(followId),
        publish: services.notify,
        now: services.now,
        signal: services.signal,
        ...(deps.logFollow ? { limits: deps.logFollow } : {}),
      })
    : null;
  const execs = deps.execer
    ? new ExecSessionManager({
        engine: deps.engine,
        execer: deps.execer,
        outputSubject: (sessionId) => subjects.execOutput(sessionId),
        inputSubject: (sessionId) => execInputSubject(services.clusterId, sessionId),
        publish: services.notify,
        listen: services.listen,
        now: services.now,
        signal: services.signal,
        ...(deps.exec ? { limits: deps.exec } : {}),
      })
    : null;
  return {
    handlers: {
      ...createDeploymentHandlers(deployments),
      ...(follows ? follows.handlers() : {}),
      ...(execs ? execs.handlers() : {}),
      ...(builds ? createBuildHandlers(builds) : {}),
      ScaleService: createScaleHandler(deps.engine, {
        now: services.now,
        runningDeployment: (stack) => deployments.runningOn(stack),
        ...deps.scale,
      }),
      GetLogs: createLogsHandler(deps.engine),
      SearchLogs: createSearchLogsHandler(deps.engine),
      GetStatus: createGetStatusHandler(deps.engine),
      ...(deps.objects
        ? {
            RemoveStack: createRemoveStackHandler(deps.objects, {
              now: services.now,
              runningDeployment: (stack) => deployments.runningOn(stack),
            }),
          }
        : {}),
      ...(deps.ingress
        ? {
            ApplyIngress: createApplyIngressHandler(deps.ingress, {
              clusterId: services.clusterId,
              sealKeys: services.sealKeys,
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
    drain: () => {
      follows?.stopAll("agent_stopping");
      execs?.stopAll("agent_stopping");
      return Promise.all([deployments.drain(), builds?.drain()]).then(() => undefined);
    },
  };
}
