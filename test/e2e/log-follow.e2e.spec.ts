/**
 * Live log following, end to end on the real single-node Swarm (real control plane, real agent, real dockerd): a
 * service prints a line every 200 ms; the SSE route streams new lines within about a second, filters them with
 * `grep`, and closing the stream stops the follow on the agent (its end message, then nothing more on the
 * follow's subject). Unknown services are 404, and with the agent gone the route answers 503 AGENT_UNREACHABLE.
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import type { NatsConnection } from "nats";
import { connectNats } from "../../services/_shared/nats.js";
import { startSwarmWorld, type SwarmWorld, type WorldEnvironment } from "../../services/_shared/testing/swarm-world.js";
import { stopAgent, TEST_IMAGE } from "../../services/_shared/testing/swarm.js";
import { sleep } from "../../services/_shared/testing/wait.js";
import type { LogFollowMessage } from "../../nats/protocol/messages.js";

const compose = `services:
  app:
    image: ${TEST_IMAGE}
    command: ["sh", "-c", "i=0; while true; do i=$$((i+1)); echo tick $$i; if [ $$((i % 2)) -eq 0 ]; then echo even $$i >&2; fi; sleep 0.2; done"]
    deploy:
      replicas: 1
`;

interface SseEvent {
  event: string;
  data: unknown;
  at: number;
}

/** Reads an SSE response as it arrives; `close()` aborts the request (the client going away). */
async function openSse(url: string, headers: Record<string, string>) {
  const controller = new AbortController();
  const res = await fetch(url, { headers, signal: controller.signal });
  const events: SseEvent[] = [];
  const done = (async () => {
    if (!res.body || !res.headers.get("content-type")?.startsWith("text/event-stream")) return;
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffered = "";
    try {
      for (;;) {
        const { value, done: ended } = await reader.read();
        if (ended) return;
        buffered += decoder.decode(value, { stream: true });
        let cut: number;
        while ((cut = buffered.indexOf("\n\n")) >= 0) {
          const block = buffered.slice(0, cut);
          buffered = buffered.slice(cut + 2);
          const name = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (name && data) events.push({ event: name, data: JSON.parse(data) as unknown, at: Date.now() });
        }
      }
    } catch {
      // Aborted by close().
    }
  })();
  return { res, events, close: () => controller.abort(), done };
}

const waitFor = async <T>(what: string, probe: () => T | undefined, timeoutMs: number): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
};

describe("live log follow (real agent, real Swarm)", function () {
  this.timeout(180_000);
  let world: SwarmWorld;
  let env: WorldEnvironment;
  let nc: NatsConnection;
  const seen: Array<{ subject: string; message: LogFollowMessage }> = [];

  before(async () => {
    world = await startSwarmWorld();
    const stackId = await world.createStack(`lf${randomBytes(3).toString("hex")}`);
    env = await world.createEnvironment(stackId, "prod");
    await world.deploy(env, await world.uploadRelease(stackId, compose));
    // Watches what the agent publishes for any follow of this cluster, as the gateway would.
    nc = await connectNats(world.platform.config.nats, world.nats.controlPlaneCredsFile, "e2e-log-watch");
    const sub = nc.subscribe(`agent.${world.clusterId}.logs.>`);
    void (async () => {
      for await (const m of sub) {
        seen.push({ subject: m.subject, message: JSON.parse(new TextDecoder().decode(m.data)) as LogFollowMessage });
      }
    })();
    await nc.flush();
  });

  after(async () => {
    await nc?.close();
    await world?.stop();
  });

  const streamUrl = (service: string, query: string) =>
    `${world.platform.baseUrl}/v1/environments/${env.id}/services/${service}/logs/stream?${query}`;

  it("streams new lines within a second, filtered by grep, and stops the follow when the client goes away", async () => {
    const sse = await openSse(streamUrl("app", "tail=0&grep=even"), world.auth());
    expect(sse.res.status).to.equal(200);
    const open = await waitFor("the open event", () => sse.events.find((e) => e.event === "open"), 10_000);
    expect(open.data).to.deep.equal({ service: `${env.swarmStack}_app` });
    const first = await waitFor("a first line", () => sse.events.find((e) => e.event === "line"), 5_000);
    expect(first.at - open.at).to.be.lessThan(1_500);
    await waitFor(
      "four lines",
      () => (sse.events.filter((e) => e.event === "line").length >= 4 ? true : undefined),
      5_000,
    );
    const lines = sse.events.filter((e) => e.event === "line").map((e) => e.data as { stream: string; line: string });
    // Only the "even" lines (written to stderr), none of the "tick" ones; tail=0 means nothing from before.
    expect(
      lines.every((l) => /^even \d+$/.test(l.line) && l.stream === "stderr"),
      JSON.stringify(lines),
    ).to.equal(true);
    const numbers = lines.map((l) => Number(l.line.split(" ")[1]));
    expect(numbers).to.deep.equal([...numbers].sort((a, b) => a - b));
    // New lines keep coming: live, not a snapshot.
    const count = lines.length;
    await waitFor(
      "a newer line",
      () => (sse.events.filter((e) => e.event === "line").length > count ? true : undefined),
      3_000,
    );

    const subject = seen.find((s) => s.message.type === "lines")!.subject;
    sse.close();
    await sse.done;
    const end = await waitFor(
      "the agent to end the follow",
      () => seen.find((s) => s.subject === subject && s.message.type === "end"),
      10_000,
    );
    expect(end.message).to.deep.equal({ type: "end", reason: "stopped", message: null });
    const after = seen.filter((s) => s.subject === subject).length;
    await sleep(1_500);
    expect(seen.filter((s) => s.subject === subject).length, "messages after the follow ended").to.equal(after);
  });

  it("sends the tail first, and refuses an unknown service (404) and bad input (400) before streaming", async () => {
    const sse = await openSse(streamUrl("app", "tail=3"), world.auth());
    expect(sse.res.status).to.equal(200);
    await waitFor(
      "three lines",
      () => (sse.events.filter((e) => e.event === "line").length >= 3 ? true : undefined),
      5_000,
    );
    sse.close();
    await sse.done;

    const missing = await fetch(streamUrl("nope", "tail=1"), { headers: world.auth() });
    expect(missing.status).to.equal(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).to.equal("SERVICE_NOT_FOUND");
    const bad = await fetch(streamUrl("app", "tail=5000"), { headers: world.auth() });
    expect(bad.status).to.equal(400);
    const unauthenticated = await fetch(streamUrl("app", "tail=1"));
    expect(unauthenticated.status).to.equal(401);
  });

  it("revoking the API token that opened a follow ends the stream and stops the follow on the agent", async () => {
    const created = await world.api.request<{ id: string; token: string }>(
      "POST",
      `/v1/orgs/${world.org.orgId}/tokens`,
      { body: { name: "log-reader", scopes: ["deployments:read"] }, headers: world.auth() },
    );
    expect(created.status).to.equal(201);
    const before = new Set(seen.map((s) => s.subject));
    const sse = await openSse(streamUrl("app", "tail=0"), { authorization: `Bearer ${created.body.token}` });
    expect(sse.res.status).to.equal(200);
    await waitFor("a live line", () => sse.events.find((e) => e.event === "line"), 5_000);
    const revoked = await world.api.request("DELETE", `/v1/orgs/${world.org.orgId}/tokens/${created.body.id}`, {
      headers: world.auth(),
    });
    expect(revoked.status).to.be.oneOf([200, 204]);
    await waitFor("the revoked event", () => sse.events.find((e) => e.event === "revoked"), 5_000);
    await sse.done;
    // This test's follow: the one subject that was not seen before it opened.
    const subject = seen.map((s) => s.subject).find((x) => !before.has(x))!;
    expect(subject).to.be.a("string");
    const end = await waitFor(
      "the agent to end the revoked follow",
      () => seen.find((s) => s.subject === subject && s.message.type === "end"),
      10_000,
    );
    expect(end.message).to.deep.include({ type: "end", reason: "stopped" });
  });

  it("answers 503 AGENT_UNREACHABLE when the cluster's agent is not connected", async () => {
    await stopAgent(world.agent);
    const res = await fetch(streamUrl("app", "tail=1"), { headers: world.auth() });
    expect(res.status).to.equal(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).to.equal("AGENT_UNREACHABLE");
  });
});
