/** A service's own NATS connection with a creds file (control-plane or system user), reconnecting forever. */
import { readFile } from "node:fs/promises";
import { connect, credsAuthenticator, type ConnectionOptions, type NatsConnection } from "nats";
import type { Config } from "./config.js";

/**
 * TLS options for the control plane's connections: verify the server with the configured CA (or the system's).
 * Always set, so a server that stops offering TLS is refused rather than spoken to in plaintext.
 */
export const natsTlsOptions = (nats: Pick<Config["nats"], "tlsCaFile">): NonNullable<ConnectionOptions["tls"]> =>
  nats.tlsCaFile ? { caFile: nats.tlsCaFile } : {};

export async function connectNats(
  nats: Pick<Config["nats"], "urls" | "tlsCaFile">,
  credsFile: string,
  name: string,
): Promise<NatsConnection> {
  return connect({
    servers: nats.urls,
    authenticator: credsAuthenticator(await readFile(credsFile)),
    tls: natsTlsOptions(nats),
    name,
    maxReconnectAttempts: -1,
  });
}
