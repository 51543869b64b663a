/**
 * One-time registration: the agent creates its own user NKey, sends only the public half with the registration
 * token, and stores the JWT the control plane minted for it. Runs before anything is written, so a failed
 * attempt leaves no state behind; the Docker check runs before the token is spent.
 */
import { createUser } from "nkeys.js";
import { validateMessage, type RegisterRequest, type RegisterResponse } from "../../nats/protocol/messages.js";
import { ProtocolError } from "../../nats/protocol/errors.js";
import { createSealKeyPair } from "../../nats/protocol/sealing.js";
import type { RegisterConfig } from "./config.js";
import type { DockerEngine } from "./docker/engine.js";
import { AgentError } from "./errors.js";
import { decodeUserJwt } from "./jwt.js";
import { assertCaCertificate, assertSecureNatsUrls } from "./link.js";
import type { Logger } from "./logger.js";
import { checkDockerReady } from "./preflight.js";
import { saveState, stateExists, type AgentState } from "./state.js";
import { AGENT_VERSION } from "./version.js";

export const REGISTER_PATH = "/v1/agent/register";
export const REGISTER_TIMEOUT_MS = 30_000;

export interface RegisterDeps {
  engine: Pick<DockerEngine, "info">;
  fetch: typeof fetch;
  hostname: string;
  log: Logger;
  now: () => number;
}

export async function registerAgent(config: RegisterConfig, deps: RegisterDeps): Promise<AgentState> {
  if (!config.force && (await stateExists(config.stateDir))) {
    throw new AgentError(
      "ALREADY_REGISTERED",
      `${config.stateDir} already holds a registration; run "stackyard-agent run", or register again with --force`,
    );
  }
  const docker = await checkDockerReady(deps.engine, config.dockerSocket);
  const keyPair = createUser();
  const publicKey = keyPair.getPublicKey();
  // A fresh pair at every registration: re-registering rotates the key secrets are sealed to.
  const sealKeyPair = createSealKeyPair();
  const body: RegisterRequest = validateMessage("RegisterRequest", {
    token: config.token,
    publicKey,
    sealPublicKey: sealKeyPair.publicKey,
    hostname: deps.hostname,
    agentVersion: AGENT_VERSION,
    docker,
    natsAccount: "org",
  });
  const endpoint = config.url + REGISTER_PATH;
  deps.log.info("registering with the control plane", { url: endpoint, publicKey, sealPublicKey: body.sealPublicKey });

  let response: Response;
  try {
    response = await deps.fetch(endpoint, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(REGISTER_TIMEOUT_MS),
      redirect: "error",
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: unknown } }).cause?.code ?? (err as Error).name;
    throw new AgentError("CONTROL_PLANE_UNREACHABLE", `cannot reach ${endpoint} (${String(cause)})`, { cause: err });
  }
  const registered = await readRegisterResponse(response, endpoint);

  const claims = decodeUserJwt(registered.jwt);
  if (!claims || claims.sub !== publicKey) {
    throw new AgentError("REGISTRATION_FAILED", "the control plane returned a JWT that is not for this agent's key");
  }
  // Checked before anything is saved: an agent must never be left configured for plaintext NATS.
  try {
    assertSecureNatsUrls(registered.natsUrls);
  } catch (err) {
    throw new AgentError(
      "NATS_URL_INSECURE",
      `${(err as Error).message}. The control plane's NATS_AGENT_URLS must list tls:// URLs; fix it, issue a new registration token and register again`,
      { cause: err },
    );
  }
  if (registered.natsCa !== undefined) assertCaCertificate(registered.natsCa);
  const state: AgentState = {
    version: 1,
    clusterId: registered.clusterId,
    orgId: registered.orgId,
    publicKey,
    seed: new TextDecoder().decode(keyPair.getSeed()),
    jwt: registered.jwt,
    jwtExpiresAt: registered.expiresAt,
    natsUrls: registered.natsUrls,
    ...(registered.natsCa !== undefined ? { natsCa: registered.natsCa } : {}),
    commandSigningPublicKey: registered.commandSigningPublicKey,
    sealPublicKey: sealKeyPair.publicKey,
    sealPrivateKey: sealKeyPair.privateKey,
    controlPlaneUrl: config.url,
    registeredAt: deps.now(),
  };
  await saveState(config.stateDir, state);
  deps.log.info("registered", {
    clusterId: state.clusterId,
    orgId: state.orgId,
    natsUrls: state.natsUrls,
    credentialsExpireAt: new Date(state.jwtExpiresAt).toISOString(),
    stateDir: config.stateDir,
  });
  return state;
}

async function readRegisterResponse(response: Response, endpoint: string): Promise<RegisterResponse> {
  const text = await response.text().catch(() => "");
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (response.ok) {
    try {
      return validateMessage("RegisterResponse", json);
    } catch (err) {
      const reason = err instanceof ProtocolError ? err.reason : "not JSON";
      throw new AgentError("REGISTRATION_FAILED", `unexpected registration response: ${reason}`, { cause: err });
    }
  }
  const error = (json as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  const said = typeof error?.message === "string" ? ` (${String(error.code ?? "")}: ${error.message})` : "";
  if (response.status === 401 || response.status === 403) {
    throw new AgentError(
      "REGISTRATION_REJECTED",
      "the registration token is invalid, expired or already used; issue a new one for this cluster " +
        `(POST /v1/orgs/{orgId}/clusters/{clusterId}/registration-token) and run register again${said}`,
    );
  }
  if (response.status === 404) {
    throw new AgentError("REGISTRATION_REJECTED", `no registration endpoint at ${endpoint}: check --url${said}`);
  }
  if (response.status < 500) {
    throw new AgentError(
      "REGISTRATION_REJECTED",
      `the control plane refused the registration: HTTP ${response.status}${said}`,
    );
  }
  throw new AgentError(
    "REGISTRATION_FAILED",
    `the control plane failed (HTTP ${response.status}); try again; if the token is then refused, issue a new one`,
  );
}
