/**
 * Log search across an environment's services, end to end on the real single-node Swarm (real control plane, real
 * agent, real dockerd): two services print known lines; a text only one of them printed finds only its lines (with
 * their task and node from the daemon), a range that starts after the services' first lines leaves those out, the
 * lines of both services arrive merged in time order, and an unknown service or a reversed range is refused.
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { startSwarmWorld, type SwarmWorld, type WorldEnvironment } from "../../services/_shared/testing/swarm-world.js";
import { TEST_IMAGE } from "../../services/_shared/testing/swarm.js";
import { sleep } from "../../services/_shared/testing/wait.js";

const compose = `services:
  app:
    image: ${TEST_IMAGE}
    command: ["sh", "-c", "echo app-first-line; i=0; while true; do i=$$((i+1)); echo app tick $$i; if [ $$((i % 3)) -eq 0 ]; then echo app Zebra-Crossing $$i >&2; fi; sleep 0.3; done"]
  worker:
    image: ${TEST_IMAGE}
    command: ["sh", "-c", "echo worker-first-line; i=0; while true; do i=$$((i+1)); echo worker tick $$i; sleep 0.3; done"]
`;

interface SearchLine {
  ts: string | null;
  service: string;
  task: string | null;
  node: string | null;
  stream: string;
  line: string;
}

/** The whole event stream of one search, read to its end. */
async function search(url: string, headers: Record<string, string>) {
  const res = await fetch(url, { headers });
  if (!res.headers.get("content-type")?.startsWith("text/event-stream")) {
    return { status: res.status, error: (await res.json()) as { error: { code: string; message: string } } };
  }
  const events: Array<{ event: string; data: unknown }> = [];
  for (const block of (await res.text()).split("\n\n")) {
    const name = /^event: (.*)$/m.exec(block)?.[1];
    const data = /^data: (.*)$/m.exec(block)?.[1];
    if (name && data) events.push({ event: name, data: JSON.parse(data) as unknown });
  }
  return {
    status: res.status,
    open: events.find((e) => e.event === "open")?.data as { services: string[] } | undefined,
    lines: events.filter((e) => e.event === "line").map((e) => e.data as SearchLine),
    end: events.find((e) => e.event === "end")?.data as { count: number; truncated: boolean } | undefined,
  };
}

describe("log search across services (real agent, real Swarm)", function () {
  this.timeout(180_000);
  let world: SwarmWorld;
  let env: WorldEnvironment;
  let deployedAt: Date;

  before(async () => {
    world = await startSwarmWorld();
    const stackId = await world.createStack(`ls${randomBytes(3).toString("hex")}`);
    env = await world.createEnvironment(stackId, "prod");
    deployedAt = new Date(Date.now() - 60_000);
    await world.deploy(env, await world.uploadRelease(stackId, compose));
    // Until both services have printed past their first lines (Zebra every third tick of app).
    const deadline = Date.now() + 30_000;
    for (;;) {
      const r = await search(url({ since: deployedAt.toISOString(), q: "tick 4" }), world.auth());
      const services = new Set((r.lines ?? []).map((l) => l.service));
      if (services.has("app") && services.has("worker")) break;
      if (Date.now() > deadline) throw new Error(`both services never printed: ${JSON.stringify(r)}`);
      await sleep(500);
    }
  });

  after(async () => {
    await world?.stop();
  });

  const url = (query: Record<string, string | string[]>) => {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) for (const one of [v].flat()) params.append(k, one);
    return `${world.platform.baseUrl}/v1/environments/${env.id}/logs?${params}`;
  };

  it("finds a text only one service printed, case-insensitively, with the task and node of each line", async () => {
    const r = await search(url({ since: deployedAt.toISOString(), q: "zebra-crossing" }), world.auth());
    expect(r.status).to.equal(200);
    expect(r.open?.services).to.have.members(["app", "worker"]);
    expect(r.lines!.length, JSON.stringify(r)).to.be.greaterThan(0);
    for (const l of r.lines!) {
      expect(l.service).to.equal("app");
      expect(l.line).to.match(/^app Zebra-Crossing \d+$/);
      expect(l.stream).to.equal("stderr");
      expect(l.task).to.match(/^[a-z0-9]{25}$/);
      expect(l.node).to.match(/^[a-z0-9]{25}$/);
    }
    expect(r.end).to.deep.equal({ count: r.lines!.length, truncated: false });
  });

  it("leaves out lines older than `since`, and merges both services' lines in time order", async () => {
    const everything = await search(url({ since: deployedAt.toISOString() }), world.auth());
    expect(everything.lines!.map((l) => l.line)).to.include.members(["app-first-line", "worker-first-line"]);

    // A second boundary after the first lines: Docker's `since` is whole seconds.
    const from = new Date(Math.ceil(Date.now() / 1000) * 1000 + 1000);
    await sleep(from.getTime() - Date.now() + 1_500);
    const recent = await search(url({ since: from.toISOString(), until: new Date().toISOString() }), world.auth());
    expect(recent.status).to.equal(200);
    const lines = recent.lines!;
    expect(lines.map((l) => l.line)).to.not.include.members(["app-first-line"]);
    expect(lines.some((l) => l.line.includes("first-line"))).to.equal(false);
    expect(new Set(lines.map((l) => l.service))).to.deep.equal(new Set(["app", "worker"]));
    for (const l of lines) expect(Date.parse(l.ts!)).to.be.at.least(from.getTime());
    const times = lines.map((l) => l.ts!.replace(/\.(\d+)Z$/, (_, f: string) => `.${f.padEnd(9, "0")}Z`));
    expect(times).to.deep.equal([...times].sort());
  });

  it("narrows to the named services, and refuses an unknown service (404 with its name) and a reversed range", async () => {
    const since = deployedAt.toISOString();
    const only = await search(url({ since, service: "worker", q: "TICK" }), world.auth());
    expect(only.lines!.length).to.be.greaterThan(0);
    expect(new Set(only.lines!.map((l) => l.service))).to.deep.equal(new Set(["worker"]));
    const both = await search(url({ since, service: ["worker", "app"], q: "tick 2", limit: "1" }), world.auth());
    expect(both.lines).to.have.length(1);
    expect(both.end?.truncated).to.equal(true);

    const unknown = await search(url({ since, service: "worker,nope" }), world.auth());
    expect(unknown.status).to.equal(404);
    expect(unknown.error?.error.code).to.equal("SERVICE_NOT_FOUND");
    expect(unknown.error?.error.message).to.contain('"nope"');
    const reversed = await search(url({ since, until: "2020-01-01T00:00:00Z" }), world.auth());
    expect(reversed.status).to.equal(400);
    expect(reversed.error?.error.code).to.equal("VALIDATION_FAILED");
    const unauthenticated = await fetch(url({ since }));
    expect(unauthenticated.status).to.equal(401);
  });
});
