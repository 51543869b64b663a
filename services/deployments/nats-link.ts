/** A service's own NATS connection (control-plane creds), for JetStream and agent commands. */
import { readFile } from "node:fs/promises";
import { connect, credsAuthenticator, type NatsConnection } from "nats";
import type { Config } from "../_shared/config.js";

export async function connectControlPlane(config: Config, name: string): Promise<NatsConnection> {
  return connect({
    servers: config.nats.url,
    authenticator: credsAuthenticator(await readFile(config.nats.credsFile)),
    name,
    maxReconnectAttempts: -1,
  });
}
