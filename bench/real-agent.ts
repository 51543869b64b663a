/** The real agent (agent/src/main.ts, or its bundle) registered to a child-process control plane and running, as a child process. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestOrg } from "../services/_shared/testing/fixtures.js";
import { spawnAgent, stopAgent, type AgentProcess } from "../services/_shared/testing/swarm.js";
import { until } from "../services/_shared/testing/wait.js";
import type { ChildControlPlane } from "./control-plane.js";

export interface RealAgent {
  clusterId: string;
  process: AgentProcess;
  stop(): Promise<void>;
}

export async function startRealAgent(
  cp: ChildControlPlane,
  org: TestOrg,
  name: string,
  env: Record<string, string> = {},
  opts: { bundle?: string } = {},
): Promise<RealAgent> {
  const cluster = await cp.api.request<{ cluster: { id: string }; registrationToken: string }>(
    "POST",
    `/v1/orgs/${org.orgId}/clusters`,
    { body: { name }, headers: org.admin.auth },
  );
  if (cluster.status !== 201) throw new Error(`cluster: ${JSON.stringify(cluster.body)}`);
  const clusterId = cluster.body.cluster.id;
  const stateDir = await mkdtemp(join(tmpdir(), "stackyard-bench-agent-"));
  let agent: AgentProcess | null = null;
  const stop = async () => {
    await stopAgent(agent);
    await rm(stateDir, { recursive: true, force: true });
  };
  try {
    const register = spawnAgent(
      ["register", "--url", cp.baseUrl, "--state-dir", stateDir],
      {
        STACKYARD_AGENT_TOKEN: cluster.body.registrationToken,
      },
      opts,
    );
    if ((await register.exited) !== 0) throw new Error(`agent register failed:\n${register.output.join("\n")}`);
    agent = spawnAgent(["run", "--state-dir", stateDir], { STACKYARD_AGENT_LOG_LEVEL: "warn", ...env }, opts);
    await until(
      "the cluster to come online",
      async () => {
        const c = await cp.api.get<{ status: string }>(`/v1/orgs/${org.orgId}/clusters/${clusterId}`, org.admin.auth);
        return c.body.status === "online" ? true : undefined;
      },
      60_000,
      300,
    );
    return { clusterId, process: agent, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
