/**
 * GetStatus's live spec against the real dockerd (single-node Swarm): a fresh `docker stack deploy` of a compose
 * with env, ports, labels, resources, placement, a secret, a config, a volume and policies compares in sync with
 * the control plane's normalisation of the same compose; each hand change (`docker service update`) is then
 * drift on its own field. The stack is `systat<random>` and removed in `after`.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { parse } from "yaml";
import { desiredServiceSpecs } from "../../../services/deployments/desired-spec.js";
import { compareServiceSpec } from "../../../services/deployments/drift.js";
import { createDockerodeEngine } from "../docker/dockerode-engine.js";
import { getStackStatus } from "./status.js";

const run = promisify(execFile);
const docker = async (...args: string[]) => (await run("docker", args, { timeout: 60_000 })).stdout.trim();
const IMAGE = "stackyard/busybox:test";

describe("GetStatus live spec (real dockerd)", function () {
  this.timeout(90_000);
  const stack = `systat${randomBytes(4).toString("hex")}`;
  const port = 20_000 + Math.floor(Math.random() * 9_000);
  const secretName = `${stack}_db_password_v1`;
  const engine = createDockerodeEngine();
  let dir: string;
  const compose = `version: "3.8"
services:
  app:
    image: ${IMAGE}
    command: sh -c "sleep 3600"
    environment:
      B: "2"
      A: 1
    ports: ["${port}:80", { target: 81, protocol: udp }]
    labels: [tier=web]
    volumes: ["data:/data", "/tmp:/host-tmp:ro"]
    secrets: [db_password, { source: db_password, target: other }]
    configs: [{ source: conf, target: /etc/app.conf }]
    stop_grace_period: 1s
    deploy:
      replicas: 1
      labels: { team: core, io.stackyard.environment: e1 }
      resources: { limits: { cpus: "0.25", memory: 32M }, reservations: { memory: 8m } }
      placement: { constraints: [node.role == manager, node.platform.os == linux] }
      update_config: { parallelism: 2, monitor: 1s, order: start-first }
      restart_policy: { condition: on-failure, delay: 1s }
volumes:
  data: {}
secrets:
  db_password: { external: true, name: ${secretName} }
configs:
  conf: { file: ./app.conf }
`;
  const live = async () => {
    const status = await getStackStatus(engine, stack);
    expect(status.services).to.have.length(1);
    return status.services[0]!;
  };
  const drift = async () => {
    const desired = desiredServiceSpecs(parse(compose), stack).app!;
    return compareServiceSpec(desired, (await live()).spec!);
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "systat-"));
    await writeFile(join(dir, "app.conf"), "x=1\n");
    await writeFile(join(dir, "compose.yml"), compose);
    await run("sh", ["-c", `printf s3cret | docker secret create ${secretName} -`]);
    await docker("stack", "deploy", "--resolve-image", "never", "-c", join(dir, "compose.yml"), stack);
  });
  after(async () => {
    await docker("stack", "rm", stack).catch(() => undefined);
    for (let i = 0; i < 30; i++) {
      const left = await docker("service", "ls", "-q", "--filter", `label=com.docker.stack.namespace=${stack}`);
      if (!left) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    await docker("secret", "rm", secretName).catch(() => undefined);
    await docker("volume", "rm", `${stack}_data`).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it("reports the normalised spec, and a fresh deploy compares in sync", async () => {
    const service = await live();
    expect(service.spec).to.deep.include({
      command: ["sh", "-c", "sleep 3600"],
      env: ["A=1", "B=2"],
      labels: { team: "core" },
      containerLabels: { tier: "web" },
      replicas: 1,
    });
    expect(service.spec!.secrets).to.deep.equal([
      { source: secretName, target: "db_password" },
      { source: secretName, target: "other" },
    ]);
    expect(service.spec!.resources).to.deep.equal({
      limitNanoCpus: 250_000_000,
      limitMemoryBytes: 32 * 1024 * 1024,
      reserveNanoCpus: 0,
      reserveMemoryBytes: 8 * 1024 * 1024,
    });
    expect(await drift()).to.deep.equal([]);
  });

  it("shows a hand `--env-add X=1` as drift on env, then every other hand change on its own field", async () => {
    await docker("service", "update", "--detach", "--env-add", "X=1", `${stack}_app`);
    const envOnly = await drift();
    expect(envOnly.map((f) => f.field)).to.deep.equal(["env"]);
    expect(envOnly[0]!.summary).to.equal("env X=1 added");

    await docker(
      "service",
      "update",
      "--detach",
      "--label-add",
      "extra=1",
      "--container-label-rm",
      "tier",
      "--publish-rm",
      `${port}:80`,
      "--limit-cpu",
      "0.5",
      "--constraint-rm",
      "node.platform.os == linux",
      "--update-parallelism",
      "3",
      "--restart-max-attempts",
      "4",
      "--secret-rm",
      secretName,
      "--mount-rm",
      "/host-tmp",
      "--args",
      "sleep 7200",
      "--replicas",
      "2",
      `${stack}_app`,
    );
    const fields = await drift();
    expect(fields.map((f) => f.field)).to.have.members([
      "command",
      "env",
      "labels",
      "containerLabels",
      "ports",
      "secrets",
      "mounts",
      "resources",
      "placement",
      "updateConfig",
      "restartPolicy",
      "replicas",
    ]);
    const summary = (field: string) => fields.find((f) => f.field === field)!.summary;
    expect(summary("resources")).to.equal("limits.cpus 0.5 ≠ desired 0.25");
    expect(summary("updateConfig")).to.equal("update_config.parallelism 3 ≠ desired 2");
    expect(summary("replicas")).to.equal("replicas 2 ≠ desired 1");
    expect(summary("ports")).to.equal(`port ${port}:80/tcp removed`);
  });

  it("reports Swarm's update state of the service, with its message", async () => {
    await docker("service", "update", "--detach", "--force", `${stack}_app`);
    let service = await live();
    for (let i = 0; i < 40 && !service.updateStatus; i++) {
      await new Promise((r) => setTimeout(r, 250));
      service = await live();
    }
    const inspected = JSON.parse(
      await docker("service", "inspect", `${stack}_app`, "--format", "{{json .UpdateStatus}}"),
    ) as { State: string; Message: string };
    expect(service.updateStatus).to.be.an("object");
    expect(["updating", "completed"]).to.include(service.updateStatus!.state);
    expect(service.updateStatus!.message).to.be.a("string").and.not.equal("");
    expect([inspected.State, "updating"]).to.include(service.updateStatus!.state);
  });
});
