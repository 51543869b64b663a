/**
 * The end-to-end world most real-Swarm suites need, in one place: the real control plane (test database, a
 * per-suite nats-server, every service), an org with its admin, a cluster with the real agent registered and
 * running as a child process, and the API steps a suite repeats (stack, environment, release, deploy and wait).
 * `stop()` stops the agent, removes the Swarm stacks the world created, and stops the control plane.
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createOrgWithAdmin, waitForClusterOnline, type TestOrg } from "./fixtures.js";
import type { ContractClient } from "./http.js";
import { startTestStack, stopTestStack, type TestStack } from "./stack.js";
import { prepareSwarm, removeStack, spawnAgent, stopAgent, type AgentProcess } from "./swarm.js";
import { until } from "./wait.js";

export type DeploymentStatus =
  "AWAITING_APPROVAL" | "PENDING" | "RUNNING" | "SUCCEEDED" | "FAILED" | "CANCELED" | "REJECTED";

export interface WorldDeployment {
  id: string;
  status: DeploymentStatus;
  releaseId: string;
  errorMessage: string | null;
  errorCode: string | null;
}

/** A deployment event as the SSE replay serves it. */
export interface StoredEvent {
  seq: number;
  ts: string;
  level: string;
  message: string;
  data: Record<string, unknown>;
}

export interface WorldEnvironment {
  id: string;
  name: string;
  swarmStack: string;
}

export interface SwarmWorld extends TestStack {
  org: TestOrg;
  api: ContractClient;
  clusterId: string;
  agent: AgentProcess;
  auth(): Record<string, string>;
  createStack(name: string): Promise<string>;
  createEnvironment(stackId: string, name: string, extra?: Record<string, unknown>): Promise<WorldEnvironment>;
  uploadRelease(stackId: string, composeYaml: string): Promise<string>;
  /** POSTs a deployment with a fresh idempotency key and waits for it to end in `want`. */
  deploy(env: WorldEnvironment, releaseId: string, want?: DeploymentStatus): Promise<WorldDeployment>;
  waitForDeployment(id: string, want: DeploymentStatus, timeoutMs?: number): Promise<WorldDeployment>;
  /** The stored events of a finished deployment, in seq order (the SSE replay, which closes after the terminal one). */
  events(deploymentId: string): Promise<StoredEvent[]>;
  stop(): Promise<void>;
}

export async function startSwarmWorld(
  opts: { clusterName?: string; env?: Record<string, string> } = {},
): Promise<SwarmWorld> {
  await prepareSwarm();
  const stack = await startTestStack(opts.env);
  const { api } = stack;
  const swarmStacks: string[] = [];
  let stateDir: string | undefined;
  let agent: AgentProcess | null = null;
  try {
    const org = await createOrgWithAdmin(api);
    const auth = () => org.admin.auth;
    stateDir = await mkdtemp(join(tmpdir(), "stackyard-e2e-agent-"));
    const cluster = await api.request<{ cluster: { id: string }; registrationToken: string }>(
      "POST",
      `/v1/orgs/${org.orgId}/clusters`,
      { body: { name: opts.clusterName ?? `swarm-${randomBytes(3).toString("hex")}` }, headers: auth() },
    );
    expect(cluster.status, JSON.stringify(cluster.body)).to.equal(201);
    const clusterId = cluster.body.cluster.id;
    const register = spawnAgent(["register", "--url", stack.platform.baseUrl, "--state-dir", stateDir], {
      STACKYARD_AGENT_TOKEN: cluster.body.registrationToken,
    });
    expect(await register.exited, register.output.join("\n")).to.equal(0);
    agent = spawnAgent(["run", "--state-dir", stateDir], {
      STACKYARD_AGENT_HEARTBEAT_INTERVAL_MS: "1000",
      STACKYARD_AGENT_INVENTORY_DEBOUNCE_MS: "200",
      STACKYARD_AGENT_LOG_LEVEL: "info",
    });
    await waitForClusterOnline(api, org, clusterId);
    const waitForDeployment = async (id: string, want: DeploymentStatus, timeoutMs = 90_000) => {
      const final = await until(
        `deployment ${id} to end`,
        async () => {
          const d = (await api.get<WorldDeployment>(`/v1/deployments/${id}`, auth())).body;
          return d.status === "PENDING" || d.status === "RUNNING" ? undefined : d;
        },
        timeoutMs,
        300,
      );
      expect(final.status, `${final.errorCode ?? ""} ${final.errorMessage ?? ""}`).to.equal(want);
      return final;
    };
    const started = agent;
    const world: SwarmWorld = {
      ...stack,
      org,
      clusterId,
      agent: started,
      auth,
      async createStack(name) {
        const res = await api.request<{ id: string }>("POST", `/v1/orgs/${org.orgId}/stacks`, {
          body: { name },
          headers: auth(),
        });
        expect(res.status, JSON.stringify(res.body)).to.equal(201);
        return res.body.id;
      },
      async createEnvironment(stackId, name, extra = {}) {
        const res = await api.request<WorldEnvironment>("POST", `/v1/stacks/${stackId}/environments`, {
          body: { name, clusterId, imageResolution: "never", deployTimeoutSeconds: 60, ...extra },
          headers: auth(),
        });
        expect(res.status, JSON.stringify(res.body)).to.equal(201);
        swarmStacks.push(res.body.swarmStack);
        return res.body;
      },
      async uploadRelease(stackId, composeYaml) {
        const res = await api.request<{ id: string }>("POST", `/v1/stacks/${stackId}/releases`, {
          body: { sourceType: "upload", composeYaml },
          headers: auth(),
        });
        expect(res.status, JSON.stringify(res.body)).to.equal(201);
        return res.body.id;
      },
      async deploy(env, releaseId, want = "SUCCEEDED") {
        const res = await api.request<WorldDeployment>("POST", `/v1/environments/${env.id}/deployments`, {
          body: { releaseId },
          headers: { ...auth(), "idempotency-key": randomBytes(8).toString("hex") },
        });
        expect(res.status, JSON.stringify(res.body)).to.equal(202);
        return waitForDeployment(res.body.id, want);
      },
      waitForDeployment,
      async events(deploymentId) {
        const res = await fetch(`${stack.platform.baseUrl}/v1/deployments/${deploymentId}/events`, {
          headers: auth(),
          signal: AbortSignal.timeout(60_000),
        });
        return (await res.text())
          .split("\n\n")
          .filter((b) => b.includes("event: deployment-event"))
          .map((b) => {
            const data = b
              .split("\n")
              .filter((l) => l.startsWith("data:"))
              .map((l) => l.slice(5).trim())
              .join("\n");
            return JSON.parse(data) as StoredEvent;
          });
      },
      async stop() {
        await stopAgent(started);
        for (const s of swarmStacks) await removeStack(s).catch((err: unknown) => console.error(String(err)));
        await stopTestStack(stack);
        if (stateDir) await rm(stateDir, { recursive: true, force: true });
      },
    };
    return world;
  } catch (err) {
    await stopAgent(agent);
    await stopTestStack(stack);
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
    throw err;
  }
}
