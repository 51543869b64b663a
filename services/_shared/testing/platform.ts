/** Starts real services (real NATS from our config, real Postgres) in-process for integration tests. */
import { randomUUID } from "node:crypto";
import type { Service } from "moleculer";
import { loadConfig, type Config } from "../config.js";
import { startServices, type RunningPlatform } from "../../registry.js";
import { testDatabaseUrl } from "./database.js";
import { freePort, type TestNatsServer } from "./nats-server.js";

/** Fixed test signing key; tests that forge tokens use it too. */
export const TEST_JWT_SECRET = Buffer.alloc(32, 42);
export const TEST_JWT_KEYS = `test1:${TEST_JWT_SECRET.toString("base64")}`;

export const TEST_MASTER_KEY = `test-m1:${Buffer.alloc(32, 24).toString("base64")}`;
export const TEST_BOOTSTRAP_TOKEN = "test-bootstrap-token-0123456789abcdef";

export interface TestPlatform extends RunningPlatform {
  config: Config;
  baseUrl: string;
}

export async function startTestPlatform(nats: TestNatsServer, env: Record<string, string> = {}): Promise<TestPlatform> {
  const httpPort = await freePort();
  const config = loadConfig({
    DATABASE_URL: testDatabaseUrl(),
    NATS_URL: nats.url,
    NATS_WS_URL: nats.wsUrl,
    NATS_TLS_CA_FILE: nats.caFile,
    NATS_CREDS: nats.controlPlaneCredsFile,
    NATS_IDENTITY_FILE: nats.identityFile,
    NATS_SYSTEM_CREDS: nats.systemCredsFile,
    // A fixed free port (not 0) so the public URL in agent command lines is right.
    HTTP_PORT: String(httpPort),
    LOG_LEVEL: "warn",
    AUTH_JWT_KEYS: TEST_JWT_KEYS,
    STACKYARD_BOOTSTRAP_TOKEN: TEST_BOOTSTRAP_TOKEN,
    CONTROLPLANE_MASTER_KEY: TEST_MASTER_KEY,
    GIT_ALLOWED_SCHEMES: "https,ssh,file",
    NODE_ID: `test-${randomUUID().slice(0, 8)}`,
    ...env,
  });
  const platform = await startServices(config);
  const api = platform.broker.getLocalService("api") as (Service & { listeningPort(): number }) | undefined;
  const baseUrl = api ? `http://127.0.0.1:${api.listeningPort()}` : "";
  return { ...platform, config, baseUrl };
}
