/**
 * The deployment pipeline under load, end to end through real NATS/JetStream, Postgres and the gateway's SSE:
 * - dispatch latency: POST /deployments → the agent holds the signed DeployStack command;
 * - line latency: an agent publishes an output line → an SSE client receives it, at a steady 2,000 lines/s.
 * The agent is the scripted stand-in used by the service tests (no Docker involved).
 */
import { createTestDb } from "../services/_shared/testing/database.js";
import { startFakeAgent } from "../services/_shared/testing/fake-agent.js";
import { createOrgWithAdmin } from "../services/_shared/testing/fixtures.js";
import { ContractClient } from "../services/_shared/testing/http.js";
import { startTestNatsServer } from "../services/_shared/testing/nats-server.js";
import { startTestPlatform } from "../services/_shared/testing/platform.js";
import { sleep } from "../services/_shared/testing/wait.js";
import type { DeployStack } from "../nats/protocol/messages.js";
import type { Bench, Figure } from "./figures.js";
import { latencyFigures } from "./stats.js";

const DISPATCHES = 30;
const LINES_PER_SECOND = 2_000;
const SECONDS = 5;

async function run(): Promise<Figure[]> {
  const db = await createTestDb();
  const nats = await startTestNatsServer();
  const platform = await startTestPlatform(nats, { LOG_LEVEL: "error" });
  const api = new ContractClient(platform.baseUrl);
  try {
    const org = await createOrgWithAdmin(api);
    const agent = await startFakeAgent(api, nats.url, { orgId: org.orgId, auth: org.admin.auth }, "bench");
    const received = new Map<string, number>();
    const payloads = new Map<string, DeployStack>();
    agent.handlers.set("DeployStack", (command) => {
      const payload = command.payload as unknown as DeployStack;
      received.set(payload.deploymentId, performance.now());
      payloads.set(payload.deploymentId, payload);
      return { deploymentId: payload.deploymentId, status: "started" };
    });
    const stack = await api.request<{ id: string }>("POST", `/v1/orgs/${org.orgId}/stacks`, {
      body: { name: "bench" },
      headers: org.admin.auth,
    });
    const release = await api.request<{ id: string }>("POST", `/v1/stacks/${stack.body.id}/releases`, {
      body: { sourceType: "upload", composeYaml: "services:\n  app:\n    image: nginx:1\n" },
      headers: org.admin.auth,
    });

    // Dispatch: one environment per deployment so none waits behind another.
    const dispatch: number[] = [];
    let lastDeployment: DeployStack | undefined;
    for (let i = 0; i < DISPATCHES; i++) {
      const env = await api.request<{ id: string }>("POST", `/v1/stacks/${stack.body.id}/environments`, {
        body: { name: `e${i}`, clusterId: agent.clusterId },
        headers: org.admin.auth,
      });
      const start = performance.now();
      const dep = await api.request<{ id: string }>("POST", `/v1/environments/${env.body.id}/deployments`, {
        body: { releaseId: release.body.id },
        headers: org.admin.auth,
      });
      while (!received.has(dep.body.id)) await sleep(1);
      dispatch.push(received.get(dep.body.id)! - start);
      lastDeployment = payloads.get(dep.body.id);
    }

    // Lines: one SSE client on the last deployment; the agent emits at a steady rate.
    const deployment = lastDeployment!;
    const sent = new Map<number, number>();
    const latencies: number[] = [];
    const total = LINES_PER_SECOND * SECONDS;
    const sse = await fetch(`${platform.baseUrl}/v1/deployments/${deployment.deploymentId}/events`, {
      headers: org.admin.auth,
    });
    const reader = sse.body!.getReader();
    const decoder = new TextDecoder();
    const reading = (async () => {
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        let cut: number;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const id = /^id: (\d+)$/m.exec(block);
          const at = id ? sent.get(Number(id[1])) : undefined;
          if (at !== undefined) latencies.push(performance.now() - at);
          if (block.includes("event: end")) return;
        }
      }
    })();
    await sleep(200);
    const started = performance.now();
    for (let i = 0; i < total; i++) {
      const due = started + (i * 1000) / LINES_PER_SECOND;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      const seq = deployment.firstSeq + i;
      sent.set(seq, performance.now());
      void agent.emit(
        deployment.deploymentId,
        seq,
        `line ${i} of the bench output`,
        i === total - 1 ? { outcome: "succeeded" } : {},
      );
    }
    await Promise.race([reading, sleep(30_000)]);
    await agent.close();
    return [
      ...latencyFigures("pipeline", "dispatch POST → agent holds the command", dispatch, {
        note: `${DISPATCHES} deploys, one environment each`,
      }),
      ...latencyFigures("pipeline", `agent line → SSE client at ${LINES_PER_SECOND} lines/s`, latencies, {
        note: `${latencies.length} of ${total} lines received`,
      }),
    ];
  } finally {
    await platform.stop();
    await nats.stop();
    await db.destroy();
  }
}

export const deployPipelineBench: Bench = {
  name: "pipeline",
  description: "deploy dispatch and agent line → SSE latency through real NATS, Postgres and the gateway",
  run,
};
