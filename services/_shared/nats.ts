/** A service's own NATS connection with a creds file (control-plane or system user), reconnecting forever. */
import { readFile } from "node:fs/promises";
import { connect, credsAuthenticator, type NatsConnection } from "nats";

export async function connectNats(url: string, credsFile: string, name: string): Promise<NatsConnection> {
  return connect({
    servers: url,
    authenticator: credsAuthenticator(await readFile(credsFile)),
    name,
    maxReconnectAttempts: -1,
  });
}
