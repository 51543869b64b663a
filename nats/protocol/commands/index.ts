/**
 * The commands of the agent protocol (control plane → agent), one file each. Adding a command: its file beside
 * this one, and one line in COMMANDS; the command types, payload and result registries and the examples follow.
 */
import { BuildReleaseCommand } from "./BuildRelease.js";
import { CancelBuildCommand } from "./CancelBuild.js";
import { ApplyIngressCommand } from "./ApplyIngress.js";
import { CancelDeploymentCommand } from "./CancelDeployment.js";
import { DeployStackCommand } from "./DeployStack.js";
import { FollowLogsCommand } from "./FollowLogs.js";
import { GetLogsCommand } from "./GetLogs.js";
import { GetStatusCommand } from "./GetStatus.js";
import { RemoveStackCommand } from "./RemoveStack.js";
import { RenewLogsCommand } from "./RenewLogs.js";
import { RollbackStackCommand } from "./RollbackStack.js";
import { ScaleServiceCommand } from "./ScaleService.js";
import { StartExecCommand } from "./StartExec.js";
import { SearchLogsCommand } from "./SearchLogs.js";
import { StopLogsCommand } from "./StopLogs.js";
import { UpdateNodeCommand } from "./UpdateNode.js";
import { UpdateServiceCommand } from "./UpdateService.js";
import type { PayloadOf, ResultOf } from "./spec.js";

export const COMMANDS = {
  DeployStack: DeployStackCommand,
  RollbackStack: RollbackStackCommand,
  ScaleService: ScaleServiceCommand,
  GetLogs: GetLogsCommand,
  SearchLogs: SearchLogsCommand,
  FollowLogs: FollowLogsCommand,
  RenewLogs: RenewLogsCommand,
  StopLogs: StopLogsCommand,
  GetStatus: GetStatusCommand,
  CancelDeployment: CancelDeploymentCommand,
  RemoveStack: RemoveStackCommand,
  UpdateNode: UpdateNodeCommand,
  UpdateService: UpdateServiceCommand,
  StartExec: StartExecCommand,
  BuildRelease: BuildReleaseCommand,
  CancelBuild: CancelBuildCommand,
  ApplyIngress: ApplyIngressCommand,
} as const;

type Commands = typeof COMMANDS;
export type CommandType = keyof Commands;
export const COMMAND_TYPES = Object.keys(COMMANDS) as CommandType[];

export type CommandPayloads = { [T in CommandType]: PayloadOf<Commands[T]> };
export type CommandResults = { [T in CommandType]: ResultOf<Commands[T]> };
/** Results by their message name (`DeployStackResult`, ...); RollbackStack shares DeployStack's. */
export type CommandResultMessages = { [T in CommandType as Commands[T]["resultName"]]: ResultOf<Commands[T]> };

export * from "./BuildRelease.js";
export * from "./CancelBuild.js";
export * from "./ApplyIngress.js";
export * from "./CancelDeployment.js";
export * from "./DeployStack.js";
export * from "./FollowLogs.js";
export * from "./GetLogs.js";
export * from "./GetStatus.js";
export * from "./RemoveStack.js";
export * from "./RenewLogs.js";
export * from "./RollbackStack.js";
export * from "./ScaleService.js";
export * from "./StartExec.js";
export * from "./SearchLogs.js";
export * from "./StopLogs.js";
export * from "./UpdateNode.js";
export * from "./UpdateService.js";
export type { CommandSpec } from "./spec.js";
