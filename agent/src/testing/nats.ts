/** Integration-test helpers: agent credentials minted the way the control plane does, and a real leaf node. */
import type { ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createUser } from "nkeys.js";
import { mintUserJwt } from "../../../nats/credentials.js";
import type { NatsConnection } from "nats";
import { encodeAppAccount, publicKeyOfSeed, type NatsIdentity } from "../../../nats/identity.js";
import { encodeOrgAccount, orgAccountLimits, orgUserIssuer, pushAccountJwt } from "../../../nats/org-accounts.js";
import { createCommandSigningKey, type CommandSigningKey } from "../../../nats/protocol/envelope.js";
import { agentUserJwtOptions } from "../../../nats/protocol/subjects.js";
import { spawnNatsServer, waitForPort } from "../../../nats/server.js";
import { freePort } from "../../../services/_shared/testing/nats-server.js";
import type { AgentState } from "../state.js";

/** Mints a user JWT for `publicKey` with the agent permissions of `clusterId`, as registration and renewal do. */
export async function mintAgentJwt(
  identity: NatsIdentity,
  clusterId: string,
  publicKey: string,
  expiresAtSeconds: number,
  /** A user of this org's own account (nats/org-accounts.ts); omitted: of the shared application account. */
  orgId?: string,
): Promise<string> {
  return mintUserJwt({
    ...agentUserJwtOptions(clusterId),
    userPublicKey: publicKey,
    ...(orgId
      ? orgUserIssuer(identity, orgId)
      : { appAccountPublicKey: publicKeyOfSeed(identity.appAccountSeed), appSigningSeed: identity.appSigningSeed }),
    expiresAt: expiresAtSeconds,
  });
}

/**
 * Makes the hub know the org's account with these clusters' imports (and the application account its exports),
 * as the control plane does before it hands out a credential of the org's account.
 */
export async function pushTestOrgAccount(
  system: NatsConnection,
  identity: NatsIdentity,
  orgId: string,
  clusterIds: string[],
): Promise<void> {
  await pushAccountJwt(system, await encodeAppAccount(identity)).catch(() => undefined);
  await pushAccountJwt(
    system,
    await encodeOrgAccount(identity, { orgId, clusterIds, revocations: {}, limits: orgAccountLimits() }),
  );
}

export async function registeredAgentState(
  identity: NatsIdentity,
  opts: {
    clusterId: string;
    natsUrl: string;
    /** The CA the agent pins (the test server's `caPem`). */
    natsCa?: string;
    lifetimeSeconds?: number;
    signing?: CommandSigningKey;
    /** Issue the credential in the org's own account (push it first: pushTestOrgAccount). */
    orgAccount?: boolean;
    orgId?: string;
  },
): Promise<{ state: AgentState; signing: CommandSigningKey }> {
  const kp = createUser();
  const signing = opts.signing ?? createCommandSigningKey();
  const exp = Math.floor(Date.now() / 1000) + (opts.lifetimeSeconds ?? 3600);
  const orgId = opts.orgId ?? "org-1";
  const jwt = await mintAgentJwt(identity, opts.clusterId, kp.getPublicKey(), exp, opts.orgAccount ? orgId : undefined);
  return {
    signing,
    state: {
      version: 1,
      clusterId: opts.clusterId,
      orgId,
      publicKey: kp.getPublicKey(),
      seed: new TextDecoder().decode(kp.getSeed()),
      jwt,
      jwtExpiresAt: exp * 1000,
      natsUrls: [opts.natsUrl],
      ...(opts.natsCa !== undefined ? { natsCa: opts.natsCa } : {}),
      commandSigningPublicKey: signing.publicKey,
      controlPlaneUrl: "http://127.0.0.1:1",
      registeredAt: Date.now(),
    },
  };
}

export interface LeafNode {
  url: string;
  monitorUrl: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * A customer-side leaf node: no auth for local clients, one remote to the hub with the agent's creds file, over
 * TLS verified with the hub's CA.
 * Resolves once the leaf connection to the hub is up.
 */
export async function startLeafNode(hubLeafUrl: string, credsFile: string, hubCaFile: string): Promise<LeafNode> {
  const dir = await mkdtemp(join(tmpdir(), "stackyard-leaf-"));
  const host = "127.0.0.1";
  const port = await freePort();
  const monitor = await freePort();
  const configFile = join(dir, "leaf.conf");
  await writeFile(
    configFile,
    [
      `server_name: leaf-${port}`,
      `host: ${host}`,
      `port: ${port}`,
      `http: "${host}:${monitor}"`,
      "leafnodes {",
      `  remotes = [ { url: "${hubLeafUrl}", credentials: "${credsFile}", tls: { ca_file: "${hubCaFile}" } } ]`,
      "}",
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  const child = await spawnNatsServer(configFile, { detached: false, logFile: join(dir, "leaf.log") });
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(host, port, 10_000);
    const monitorUrl = `http://${host}:${monitor}`;
    const deadline = Date.now() + 10_000;
    for (;;) {
      const leafz = (await (await fetch(`${monitorUrl}/leafz`)).json()) as { leafnodes?: number };
      if ((leafz.leafnodes ?? 0) > 0) break;
      if (Date.now() > deadline) throw new Error(`leaf node did not connect to ${hubLeafUrl} (see ${dir}/leaf.log)`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // The customer-side leaf accepts its local clients in plaintext on loopback; its link to the hub is TLS.
    return { url: `nats://${host}:${port}`, monitorUrl, process: child, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
