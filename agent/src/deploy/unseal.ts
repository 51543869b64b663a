/**
 * Opens the secret values of a deploy command with this agent's seal key. Runs when the command is accepted, so a
 * value the agent cannot open (sealed to an older key, changed on the way, copied from another command) refuses the
 * whole command with a stable code before anything on the swarm changes. The plaintexts live only in the
 * deployment's memory: handed to the engine's secret create and to the masker of its events.
 */
import type { DeployStack } from "../../../nats/protocol/messages.js";
import { SealError, open, type SealKeyPair } from "../../../nats/protocol/sealing.js";
import { HandlerError } from "../handlers/errors.js";
import type { DeployRequest, RegistryLogin } from "./types.js";

export class SealKeyMissingError extends HandlerError {
  constructor() {
    super(
      "SEAL_KEY_MISSING",
      "this agent was registered before secrets were sealed and has no seal key: register it again " +
        "(stackyard-agent register --force with a new registration token)",
    );
  }
}

export function openRegistryLogins(
  payload: Pick<DeployStack, "deploymentId" | "registryAuth">,
  clusterId: string,
  keys: SealKeyPair | null,
): RegistryLogin[] {
  const auths = payload.registryAuth ?? [];
  if (auths.length === 0) return [];
  if (!keys) throw new SealKeyMissingError();
  return auths.map((a) => {
    let plain: Buffer;
    try {
      plain = open(a.sealed, keys, {
        clusterId,
        deploymentId: payload.deploymentId,
        kind: "registry",
        name: a.registry,
      });
    } catch (err) {
      if (err instanceof SealError) throw new HandlerError(err.code, err.message);
      throw err;
    }
    let login: { username?: unknown; password?: unknown };
    try {
      login = JSON.parse(plain.toString("utf8")) as typeof login;
    } catch {
      login = {};
    }
    if (typeof login.username !== "string" || typeof login.password !== "string" || login.username.includes(":")) {
      throw new HandlerError(
        "REGISTRY_AUTH_INVALID",
        `the registry login for ${a.registry} is not a username and password`,
      );
    }
    return { registry: a.registry, username: login.username, password: login.password };
  });
}

export function openSecrets(
  payload: Pick<DeployStack, "deploymentId" | "secrets">,
  clusterId: string,
  keys: SealKeyPair | null,
): DeployRequest["secrets"] {
  if (payload.secrets.length === 0) return [];
  if (!keys) throw new SealKeyMissingError();
  return payload.secrets.map((s) => {
    try {
      const value = open(s.sealed, keys, {
        clusterId,
        deploymentId: payload.deploymentId,
        kind: "secret",
        name: s.name,
      });
      return { name: s.name, secret: s.secret, value: value.toString("utf8") };
    } catch (err) {
      if (err instanceof SealError) throw new HandlerError(err.code, err.message);
      throw err;
    }
  });
}
