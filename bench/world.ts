/**
 * What several parts set up the same way on a child-process control plane: an org with its admin, the scripted
 * stand-in agent connected to the real NATS, one stack with one release, and environments on the agent's cluster.
 */
import { randomBytes } from "node:crypto";
import { startFakeAgent, type FakeAgent } from "../services/_shared/testing/fake-agent.js";
import { createOrgWithAdmin, type TestOrg } from "../services/_shared/testing/fixtures.js";
import type { DeployStack } from "../nats/protocol/messages.js";
import type { ChildControlPlane } from "./control-plane.js";

export interface BenchWorld {
  org: TestOrg;
  agent: FakeAgent;
  stackId: string;
  releaseId: string;
  environments: string[];
  /** POSTs a deployment with plain fetch (no contract check in the timed path); returns its id. */
  deploy(environmentId: string): Promise<string>;
}

const COMPOSE = "services:\n  app:\n    image: nginx:1\n";

export async function startBenchWorld(cp: ChildControlPlane, environments: number): Promise<BenchWorld> {
  const { api } = cp;
  const org = await createOrgWithAdmin(api);
  const agent = await startFakeAgent(api, cp.nats.url, { orgId: org.orgId, auth: org.admin.auth }, "bench");
  const stack = await api.request<{ id: string }>("POST", `/v1/orgs/${org.orgId}/stacks`, {
    body: { name: `bench-${randomBytes(3).toString("hex")}` },
    headers: org.admin.auth,
  });
  if (stack.status !== 201) throw new Error(`stack: ${JSON.stringify(stack.body)}`);
  const release = await api.request<{ id: string }>("POST", `/v1/stacks/${stack.body.id}/releases`, {
    body: { sourceType: "upload", composeYaml: COMPOSE },
    headers: org.admin.auth,
  });
  if (release.status !== 201) throw new Error(`release: ${JSON.stringify(release.body)}`);
  const envIds: string[] = [];
  for (let i = 0; i < environments; i++) {
    const env = await api.request<{ id: string }>("POST", `/v1/stacks/${stack.body.id}/environments`, {
      body: { name: `e${i}`, clusterId: agent.clusterId },
      headers: org.admin.auth,
    });
    if (env.status !== 201) throw new Error(`environment: ${JSON.stringify(env.body)}`);
    envIds.push(env.body.id);
  }
  return {
    org,
    agent,
    stackId: stack.body.id,
    releaseId: release.body.id,
    environments: envIds,
    async deploy(environmentId) {
      const res = await fetch(`${cp.baseUrl}/v1/environments/${environmentId}/deployments`, {
        method: "POST",
        headers: {
          ...org.admin.auth,
          "content-type": "application/json",
          "idempotency-key": randomBytes(8).toString("hex"),
        },
        body: JSON.stringify({ releaseId: release.body.id }),
      });
      const body = (await res.json()) as { id?: string };
      if (res.status !== 202 || !body.id) throw new Error(`deploy answered ${res.status}: ${JSON.stringify(body)}`);
      return body.id;
    },
  };
}

/** Makes the stand-in agent accept every DeployStack, calling `onCommand` with the moment it holds it. */
export function acceptDeploys(agent: FakeAgent, onCommand: (payload: DeployStack, at: number) => void): void {
  agent.handlers.set("DeployStack", (command) => {
    const at = performance.now();
    const payload = command.payload as unknown as DeployStack;
    onCommand(payload, at);
    return { deploymentId: payload.deploymentId, status: "started" };
  });
}
