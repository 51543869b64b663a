/**
 * The deploy executor, scale, logs and the dockerode engine against the real dockerd of this machine (single-node
 * Swarm) with a locally built image. Every stack is named `sytest-<random>-…` and removed in `after`.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { createDockerCli } from "../docker/cli.js";
import { createDockerodeEngine } from "../docker/dockerode-engine.js";
import { runDeployment, type DeployDeps } from "./executor.js";
import { getServiceLogs } from "./logs.js";
import { scaleService } from "./scale.js";
import { SECRET_MANAGED_LABEL, SECRET_STACK_LABEL } from "./secrets.js";
import type { DeployEvent, DeployRequest } from "./types.js";

const run = promisify(execFile);
const IMAGE = "stackyard/busybox:test";
const prefix = `sytest-${randomBytes(3).toString("hex")}`;
const engine = createDockerodeEngine();
const cli = createDockerCli();
const stacks: string[] = [];

async function docker(...args: string[]): Promise<string> {
  return (await run("docker", args, { timeout: 30_000 })).stdout.trim();
}

function stack(name: string): string {
  const full = `${prefix}-${name}`;
  stacks.push(full);
  return full;
}

function deps(events: DeployEvent[], signal = new AbortController().signal): DeployDeps {
  return { engine, cli, emit: (e) => events.push(e), signal, pollIntervalMs: 500, stabilizationMs: 1_000 };
}

function request(stackName: string, composeYaml: string, over: Partial<DeployRequest> = {}): DeployRequest {
  return {
    deploymentId: `dep-${randomBytes(4).toString("hex")}`,
    stackName,
    composeYaml,
    env: {},
    secrets: [],
    registryLogins: [],
    labels: {},
    adopt: false,
    keepSecretVersions: 1,
    prune: true,
    resolveImage: "never",
    withRegistryAuth: true,
    timeoutSeconds: 45,
    ...over,
  };
}

/** Fast-moving defaults: a 1 s stop grace (sleep as PID 1 ignores SIGTERM), 1 s update monitor and restart delay. */
function webCompose(opts: { release: string; secretName: string; replicas?: number }): string {
  return `version: "3.8"
services:
  web:
    image: ${IMAGE}
    command: ["sh", "-c", "echo started greeting=$\${GREETING} release=$\${RELEASE}; exec sleep 3600"]
    environment:
      GREETING: \${GREETING}
      RELEASE: "${opts.release}"
    stop_grace_period: 1s
    secrets:
      - source: ${opts.secretName}
        target: db
    deploy:
      replicas: ${opts.replicas ?? 2}
      update_config: { parallelism: 2, monitor: 1s }
      restart_policy: { condition: any, delay: 1s }
secrets:
  ${opts.secretName}:
    external: true
`;
}

async function waitFor<T>(what: string, fn: () => Promise<T | null>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** A service no node can ever run (its placement constraint matches nothing): it never converges. */
const unplaceableCompose = (): string => `version: "3.8"
services:
  web:
    image: ${IMAGE}
    command: ["sleep", "3600"]
    deploy:
      placement:
        constraints: [node.labels.nope == 1]
`;

describe("deploy executor on a real Swarm", function () {
  this.timeout(60_000);

  before(async function () {
    this.timeout(120_000);
    await run("bash", ["scripts/build-test-image.sh"], { timeout: 110_000 });
    const info = await engine.info();
    if (info.swarmState !== "active" || !info.isManager)
      throw new Error("dockerd must be a Swarm manager for these tests");
  });

  after(async function () {
    this.timeout(90_000);
    for (const name of stacks) {
      await cli.stackRemove(name, { signal: new AbortController().signal }).catch(() => undefined);
    }
    for (const name of stacks) {
      await waitFor(
        `stack ${name} to be removed`,
        async () => {
          const services = await engine.listServices({ stack: name });
          const networks = await docker("network", "ls", "-q", "--filter", `label=com.docker.stack.namespace=${name}`);
          return services.length === 0 && networks === "" ? true : null;
        },
        60_000,
      );
      for (const s of await engine.listSecrets({ labels: { [SECRET_STACK_LABEL]: name } })) {
        await engine.removeSecret(s.id);
      }
    }
  });

  describe("a stack's lifecycle", () => {
    const name = stack("web");
    const secretV1 = `${name}_db_v1`;
    const secretV2 = `${name}_db_v2`;

    it("deploys 2 replicas: SUCCEEDED, the CLI's real lines as events, secret created and mounted", async () => {
      const events: DeployEvent[] = [];
      const result = await runDeployment(
        request(name, webCompose({ release: "1", secretName: secretV1 }), {
          env: { GREETING: "hello" },
          secrets: [{ name: secretV1, secret: "db", value: "db-password-1" }],
        }),
        deps(events),
      );
      expect(result.status, JSON.stringify(events)).to.equal("SUCCEEDED");
      expect(result.services).to.deep.equal([
        { name: `${name}_web`, desired: 2, running: 2, image: IMAGE, healthy: true },
      ]);
      // A node-local image has no registry digest: the pin is the image ID its running containers started from.
      const imageId = await docker("image", "inspect", "--format", "{{.Id}}", IMAGE);
      expect(result.images).to.deep.equal([{ service: "web", image: IMAGE, pinned: imageId, kind: "image-id" }]);

      const messages = events.map((e) => e.message);
      expect(messages).to.include(`Creating network ${name}_default`);
      expect(messages).to.include(`Creating service ${name}_web`);
      expect(messages).to.include(`created secret ${secretV1}`);
      expect(JSON.stringify(events)).not.to.include("db-password-1");

      const ls = await docker(
        "service",
        "ls",
        "--filter",
        `label=com.docker.stack.namespace=${name}`,
        "--format",
        "{{.Name}} {{.Replicas}}",
      );
      expect(ls).to.equal(`${name}_web 2/2`);

      const secrets = await engine.listSecrets({
        labels: { [SECRET_STACK_LABEL]: name, [SECRET_MANAGED_LABEL]: "true" },
      });
      expect(secrets.map((s) => s.name)).to.deep.equal([secretV1]);
      const container =
        (await docker("ps", "-q", "--filter", `label=com.docker.swarm.service.name=${name}_web`)).split("\n")[0] ?? "";
      expect(await docker("exec", container, "cat", "/run/secrets/db")).to.equal("db-password-1");
    });

    it("serves the service's logs, interpolated env included", async () => {
      const logs = await waitFor("log lines", async () => {
        const r = await getServiceLogs(engine, { stackName: name, service: "web", tail: 10, maxBytes: 10_000 });
        return r.lines.length >= 2 ? r : null;
      });
      expect(logs.service).to.equal(`${name}_web`);
      expect(logs.lines.map((l) => l.line)).to.include("started greeting=hello release=1");
      expect(logs.lines[0]?.ts).to.match(/^\d{4}-\d{2}-\d{2}T/);
    });

    it("redeploys with a new env var and secret version: services updated, the old secret removed", async () => {
      const events: DeployEvent[] = [];
      const result = await runDeployment(
        request(name, webCompose({ release: "2", secretName: secretV2 }), {
          env: { GREETING: "bonjour" },
          secrets: [{ name: secretV2, secret: "db", value: "db-password-2" }],
        }),
        deps(events),
      );
      expect(result.status, JSON.stringify(events)).to.equal("SUCCEEDED");
      expect(events.map((e) => e.message)).to.include(
        `Updating service ${name}_web (id: ${(await engine.listServices({ stack: name }))[0]?.id})`,
      );

      const [service] = await engine.listServices({ stack: name });
      expect(service?.env).to.include.members(["GREETING=bonjour", "RELEASE=2"]);
      expect(service?.runningReplicas).to.equal(2);
      const { tasks } = await engine.inspectStack(name);
      expect(tasks.filter((t) => t.state === "running" && t.upToDate)).to.have.length(2);
      expect(tasks.filter((t) => t.state === "running" && !t.upToDate)).to.have.length(0);

      const secrets = await engine.listSecrets({ labels: { [SECRET_STACK_LABEL]: name } });
      expect(secrets.map((s) => s.name)).to.deep.equal([secretV2]);
      expect(events.map((e) => e.message)).to.include(`removed unused secret ${secretV1}`);

      // task-level progress of the rolling update, per node: old tasks stopping, new ones running
      const host = await docker("info", "--format", "{{.Name}}");
      const messages = events.map((e) => e.message);
      const task = (what: string) => new RegExp(`^service ${name}_web: ${what} on ${host}$`);
      expect(
        messages.some((m) => task("old task \\d+ (stopping|stopped)").test(m)),
        messages.join("\n"),
      ).to.equal(true);
      expect(
        messages.some((m) => task("new task \\d+ running").test(m)),
        messages.join("\n"),
      ).to.equal(true);
      // --detach=true is passed: none of the CLI's warnings about its future default
      expect(messages.filter((m) => /detach/i.test(m))).to.deep.equal([]);
    });

    it("a service whose spec declares a healthcheck succeeds once its tasks are healthy, without the fixed wait", async () => {
      const healthy = stack("health");
      const compose = `version: "3.8"
services:
  web:
    image: ${IMAGE}
    command: ["sleep", "3600"]
    stop_grace_period: 1s
    healthcheck: { test: ["CMD", "true"], interval: 1s, timeout: 1s, retries: 1, start_period: 0s }
    deploy:
      replicas: 1
`;
      const events: DeployEvent[] = [];
      const stabilizationMs = 60_000;
      const started = Date.now();
      const result = await runDeployment(request(healthy, compose), { ...deps(events), stabilizationMs });
      expect(result.status, JSON.stringify(events)).to.equal("SUCCEEDED");
      // without the healthcheck shortcut the wait alone would have lasted stabilizationMs
      expect(Date.now() - started).to.be.below(stabilizationMs);
      const { services } = await engine.inspectStack(healthy);
      expect(services[0]?.healthcheck).to.equal(true);
    });

    it("so does a service whose image declares a HEALTHCHECK; one that turns it off waits the period out", async () => {
      const image = `stackyard/busybox:health-${randomBytes(3).toString("hex")}`;
      const build = run("docker", ["build", "-q", "-t", image, "-"], { timeout: 60_000 });
      build.child.stdin?.end(`FROM ${IMAGE}\nHEALTHCHECK --interval=1s --timeout=1s --retries=1 CMD true\n`);
      await build;
      try {
        expect(await engine.imageHealthcheck(image)).to.equal(true);
        expect(await engine.imageHealthcheck(IMAGE)).to.equal(false);
        const compose = (extra: string) => `version: "3.8"
services:
  web:
    image: ${image}
    command: ["sleep", "3600"]
    stop_grace_period: 1s
${extra}    deploy:
      replicas: 1
`;
        const stabilizationMs = 60_000;
        const events: DeployEvent[] = [];
        const started = Date.now();
        const result = await runDeployment(request(stack("imghealth"), compose("")), {
          ...deps(events),
          stabilizationMs,
        });
        expect(result.status, JSON.stringify(events)).to.equal("SUCCEEDED");
        expect(Date.now() - started).to.be.below(stabilizationMs);
        // `healthcheck: { disable: true }` turns the image's off: the spec says NONE
        const disabled = stack("imgnohealth");
        const controller = new AbortController();
        const waiting = runDeployment(request(disabled, compose("    healthcheck: { disable: true }\n")), {
          ...deps([], controller.signal),
          stabilizationMs,
        });
        await waitFor("the service running", async () => {
          const { services } = await engine.inspectStack(disabled);
          return services[0]?.healthcheckDisabled && services[0].runningReplicas === 1 ? true : null;
        });
        await new Promise((r) => setTimeout(r, 3_000));
        controller.abort();
        expect((await waiting).status, "still in its stabilisation period").to.equal("CANCELED");
      } finally {
        // Untags it at once; the stacks go in `after`.
        await docker("rmi", "-f", image).catch(() => "");
      }
    });

    it("scales to 3 and waits for the third replica", async () => {
      const events: DeployEvent[] = [];
      const result = await scaleService(
        engine,
        { stackName: name, service: "web", replicas: 3, timeoutSeconds: 30 },
        new AbortController().signal,
        { emit: (e) => events.push(e), pollIntervalMs: 500, stabilizationMs: 1_000 },
      );
      expect(result).to.deep.equal({
        status: "SUCCEEDED",
        service: { name: `${name}_web`, desired: 3, running: 3, image: IMAGE, healthy: true },
      });
      const ls = await docker(
        "service",
        "ls",
        "--filter",
        `label=com.docker.stack.namespace=${name}`,
        "--format",
        "{{.Replicas}}",
      );
      expect(ls).to.equal("3/3");
    });
  });

  it("fails a release whose container exits immediately, with the task error in the events", async () => {
    const name = stack("crash");
    const compose = `version: "3.8"
services:
  job:
    image: ${IMAGE}
    command: ["sh", "-c", "echo crashing >&2; exit 3"]
    deploy:
      replicas: 1
      restart_policy: { condition: any, delay: 500ms }
`;
    const events: DeployEvent[] = [];
    const result = await runDeployment(request(name, compose), deps(events));
    expect(result.status, JSON.stringify(events)).to.equal("FAILED");
    expect(result.error).to.match(
      new RegExp(
        `^service ${name}_job: task: non-zero exit \\(3\\) \\(task 1 failed(?: on node [^;]+)?; \\d+ tasks failed since the deploy started\\)$`,
      ),
    );
    const taskEvents = events.filter((e) => e.level === "warn" && e.message.includes("non-zero exit (3)"));
    expect(taskEvents.length).to.be.at.least(3);
    expect(taskEvents[0]?.data).to.include({ service: `${name}_job`, state: "failed", exitCode: 3 });
  });

  it("cancels a deployment that waits on a never-converging service", async () => {
    const name = stack("stuck");
    const compose = unplaceableCompose();
    const events: DeployEvent[] = [];
    const controller = new AbortController();
    const running = runDeployment(request(name, compose), deps(events, controller.signal));
    await waitFor("the scheduler's complaint", async () =>
      events.some((e) => e.message.includes("tasks cannot start yet: no suitable node")) ? true : null,
    );
    controller.abort();
    const result = await running;
    expect(result.status).to.equal("CANCELED");
    expect(result.services).to.deep.equal([
      {
        name: `${name}_web`,
        desired: 1,
        running: 0,
        image: IMAGE,
        healthy: false,
        lastError: result.services[0]?.lastError,
      },
    ]);
    expect(result.services[0]?.lastError).to.match(/^no suitable node/);
    expect(result.error).to.equal("canceled: stack left as deployed so far; services may be mid-update");
  });

  it("times out a never-converging deployment with a clear message", async () => {
    const name = stack("slow");
    const compose = unplaceableCompose();
    const events: DeployEvent[] = [];
    const result = await runDeployment(request(name, compose, { timeoutSeconds: 3 }), deps(events));
    expect(result.status).to.equal("FAILED");
    expect(result.error).to.match(new RegExp(`^timed out after 3s waiting for ${name}_web 0/1 \\(no suitable node`));
  });

  it("reports a CLI failure (invalid compose) with the CLI's explanation", async () => {
    const name = stack("invalid");
    const events: DeployEvent[] = [];
    const compose = `version: "3.8"\nservices:\n  web:\n    image: ${IMAGE}\n    volumes: ["data:/data"]\n`;
    const result = await runDeployment(request(name, compose), deps(events));
    expect(result.status).to.equal("FAILED");
    expect(result.error).to.match(/^docker stack deploy failed with exit code 1: .*undefined volume "data"/);
    expect(events.some((e) => e.level === "warn" && e.message.includes('undefined volume "data"'))).to.equal(true);
  });
});

describe("dockerode engine on the real daemon", function () {
  this.timeout(30_000);

  it("reads swarm facts and nodes", async () => {
    const info = await engine.info();
    expect(info).to.include({ swarmState: "active", isManager: true });
    expect(info.nodeCount).to.be.at.least(1);
    const nodes = await engine.listNodes();
    expect(nodes.some((n) => n.id === info.nodeId && n.role === "manager" && n.status === "ready")).to.equal(true);
  });

  it("creates, lists by label and removes secrets", async () => {
    const name = `${prefix}-probe-secret`;
    const id = await engine.createSecret({
      name,
      data: Buffer.from("v"),
      labels: { [SECRET_STACK_LABEL]: prefix, x: "1" },
    });
    try {
      const listed = await engine.listSecrets({ labels: { [SECRET_STACK_LABEL]: prefix, x: "1" } });
      expect(listed.map((s) => ({ id: s.id, name: s.name }))).to.deep.equal([{ id, name }]);
      const conflict = await engine
        .createSecret({ name, data: Buffer.from("v"), labels: {} })
        .catch((e: { code?: string }) => e.code);
      expect(conflict).to.equal("DOCKER_CONFLICT");
    } finally {
      await engine.removeSecret(id);
    }
    expect(await engine.listSecrets({ labels: { [SECRET_STACK_LABEL]: prefix, x: "1" } })).to.deep.equal([]);
  });

  it("watches engine events until the signal aborts", async () => {
    const controller = new AbortController();
    const seen: Array<{ type: string; action: string; attributes: Record<string, string> }> = [];
    const name = `${prefix}-probe-event`;
    const watching = engine.watchEvents((e) => seen.push(e), controller.signal);
    await new Promise((r) => setTimeout(r, 300));
    const id = await engine.createSecret({ name, data: Buffer.from("v"), labels: {} });
    await engine.removeSecret(id);
    await waitFor(
      "secret events",
      async () => (seen.filter((e) => e.type === "secret").length >= 2 ? true : null),
      10_000,
    );
    controller.abort();
    await watching;
    expect(seen.filter((e) => e.type === "secret").map((e) => e.action)).to.deep.equal(["create", "remove"]);
  });

  it("maps an unknown service to DOCKER_NOT_FOUND", async () => {
    const code = await engine.scaleService("no-such-service-xyz", 1).catch((e: { code?: string }) => e.code);
    expect(code).to.equal("DOCKER_NOT_FOUND");
  });
});
