/**
 * Broker options for every Stackyard process. NATS is the transporter; the control plane authenticates
 * with its own user creds (operator/JWT mode), so a process without valid creds cannot join the mesh.
 */
import { readFileSync } from "node:fs";
import type { BrokerOptions } from "moleculer";
import { credsAuthenticator } from "nats";
import type { Config } from "./services/_shared/config.js";
import { natsTlsOptions } from "./services/_shared/nats.js";
import { redactingJsonFormatter } from "./services/_shared/redaction.js";
import { requestIdMiddleware } from "./services/_shared/request-context.js";

export function createBrokerOptions(config: Config): BrokerOptions {
  const creds = readFileSync(config.nats.credsFile);
  return {
    namespace: "stackyard",
    ...(config.nodeId ? { nodeID: config.nodeId } : {}),
    transporter: {
      type: "NATS",
      options: {
        servers: config.nats.urls,
        authenticator: credsAuthenticator(creds),
        tls: natsTlsOptions(config.nats),
        name: `stackyard-${config.services.join("+")}`,
        maxReconnectAttempts: -1,
      },
    },
    // services/main.ts owns SIGINT/SIGTERM and stops the broker once; moleculer's own handlers would stop it a
    // second time, draining connections that are already draining.
    skipProcessEventRegistration: true,
    serializer: "JSON",
    requestTimeout: config.requestTimeoutMs,
    retryPolicy: { enabled: false },
    logger: {
      type: "Console",
      options: {
        level: config.logLevel,
        formatter: redactingJsonFormatter,
        colors: false,
        moduleColors: false,
        autoPadding: false,
      },
    },
    middlewares: [requestIdMiddleware],
    metrics: { enabled: false },
    tracing: { enabled: false },
  };
}
