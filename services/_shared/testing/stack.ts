/** The real control plane for a suite: this process's test database, a per-suite nats-server, every service. */
import type { Db } from "../db.js";
import { createTestDb } from "./database.js";
import { ContractClient } from "./http.js";
import { startTestNatsServer, type TestNatsServer, type TestNatsServerOptions } from "./nats-server.js";
import { startTestPlatform, type TestPlatform } from "./platform.js";

export interface TestStack {
  db: Db;
  nats: TestNatsServer;
  platform: TestPlatform;
  /** Checks every response against openapi.yaml. */
  api: ContractClient;
}

export async function startTestStack(
  env: Record<string, string> = {},
  opts: { nats?: TestNatsServerOptions } = {},
): Promise<TestStack> {
  const db = await createTestDb();
  const nats = await startTestNatsServer(opts.nats);
  const platform = await startTestPlatform(nats, env);
  return { db, nats, platform, api: new ContractClient(platform.baseUrl) };
}

/** Stops what started, in reverse order; tolerates a suite whose start failed half way. */
export async function stopTestStack(stack: Partial<TestStack>): Promise<void> {
  await stack.platform?.stop();
  await stack.nats?.stop();
  await stack.db?.destroy();
}
