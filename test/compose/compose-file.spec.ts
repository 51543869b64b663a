/** docker-compose.dev.yml is a valid compose file whose `up` can converge: dependencies, healthchecks, mounts. */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import {
  COMPOSE_FILE,
  ROOT,
  composeSchemaErrors,
  dependsOn,
  interpolate,
  loadCompose,
  mounts,
  serviceEnv,
  type ComposeFile,
} from "./compose.js";

const which = async (binary: string): Promise<string | null> => {
  try {
    const { stdout } = await promisify(execFile)("sh", ["-c", `command -v ${binary}`]);
    return stdout.trim() || null;
  } catch {
    return null;
  }
};

describe("docker-compose.dev.yml", () => {
  let compose: ComposeFile;
  before(() => {
    compose = loadCompose();
  });

  describe("interpolation (as compose resolves it)", () => {
    it("applies defaults, set values, required variables and $$", () => {
      expect(interpolate("a${X:-d}b", {})).to.equal("adb");
      expect(interpolate("${X:-d}", { X: "" })).to.equal("d");
      expect(interpolate("${X-d}", { X: "" })).to.equal("");
      expect(interpolate("${X:-d}/$Y", { X: "x", Y: "y" })).to.equal("x/y");
      expect(interpolate("${X:-${Y:-z}}", {})).to.equal("z");
      expect(interpolate("$${X}", { X: "x" })).to.equal("${X}");
      expect(() => interpolate("${X:?set X}", {})).to.throw("X: set X");
    });
  });

  it("validates against the compose-spec schema", () => {
    expect(composeSchemaErrors(compose)).to.deep.equal([]);
  });

  it("the schema check catches a broken file", () => {
    const broken = structuredClone(compose) as unknown as { services: Record<string, Record<string, unknown>> };
    broken.services.postgres!.healthcheck = { test: ["CMD", "true"], interval: "soon" };
    broken.services.nats!.depends_on = { bootstrap: { condition: "service_done" } };
    expect(composeSchemaErrors(broken)).to.have.length.greaterThan(0);
  });

  it("has every part of the platform", () => {
    expect(Object.keys(compose.services)).to.include.members([
      "postgres",
      "nats",
      "bootstrap",
      "controlplane",
      "deploy-worker",
      "swarm-manager",
      "swarm-worker",
      "agent",
    ]);
    expect(compose.services["deploy-worker"]!.deploy?.replicas).to.be.greaterThanOrEqual(2);
  });

  it("depends only on services that exist, with conditions their targets can meet", () => {
    for (const [name, service] of Object.entries(compose.services)) {
      for (const [target, condition] of Object.entries(dependsOn(service))) {
        const dependency = compose.services[target];
        expect(dependency, `${name} depends on unknown service ${target}`).to.not.equal(undefined);
        if (condition === "service_healthy") {
          expect(dependency!.healthcheck, `${name} waits for ${target} to be healthy: it needs a healthcheck`).to.not.be
            .undefined;
        }
        if (condition === "service_completed_successfully") {
          // A one-shot restarted by its policy never "completes" for a dependant.
          expect(dependency!.restart, `${target} is one-shot`).to.equal("no");
        }
      }
    }
  });

  it("has no dependency cycle, so `up` can start everything in some order", () => {
    const state = new Map<string, "visiting" | "done">();
    const visit = (name: string, path: string[]): void => {
      if (state.get(name) === "done") return;
      expect(state.get(name), `cycle: ${[...path, name].join(" -> ")}`).to.not.equal("visiting");
      state.set(name, "visiting");
      for (const target of Object.keys(dependsOn(compose.services[name]!))) visit(target, [...path, name]);
      state.set(name, "done");
    };
    for (const name of Object.keys(compose.services)) visit(name, []);
  });

  it("gives every long-running service a healthcheck, except the headless deploy workers", () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (service.restart === "no" || name === "deploy-worker") continue;
      expect(service.healthcheck, `${name} has no healthcheck`).to.not.be.undefined;
    }
  });

  it("mounts only declared volumes and host paths that exist", () => {
    const declared = Object.keys(compose.volumes ?? {});
    for (const [name, service] of Object.entries(compose.services)) {
      for (const mount of mounts(service)) {
        if (mount.named) expect(declared, `${name}: volume ${mount.source}`).to.include(mount.source);
        else expect(existsSync(join(ROOT, mount.source)), `${name}: host path ${mount.source}`).to.equal(true);
      }
    }
  });

  it("builds from Dockerfiles that exist", () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (!service.build) continue;
      expect(service.image, `${name}: a built image needs a tag so services can share it`).to.be.a("string");
      const dockerfile = join(ROOT, service.build.context, service.build.dockerfile ?? "Dockerfile");
      expect(existsSync(dockerfile), `${name}: ${dockerfile}`).to.equal(true);
    }
  });

  it("publishes ports on the loopback interface only", () => {
    for (const [name, service] of Object.entries(compose.services)) {
      for (const port of service.ports ?? []) {
        expect(port, `${name} publishes ${port}`).to.match(/^127\.0\.0\.1:/);
      }
    }
  });

  it("never puts a control-plane secret value in the file: secrets come from the state volume", () => {
    for (const [name, service] of Object.entries(compose.services)) {
      const env = serviceEnv(service);
      for (const key of [
        "AUTH_JWT_KEYS",
        "CONTROLPLANE_MASTER_KEY",
        "STACKYARD_BOOTSTRAP_TOKEN",
        "STACKYARD_AGENT_TOKEN",
      ]) {
        expect(env, `${name} sets ${key} inline`).to.not.have.property(key);
      }
    }
  });

  it("keeps the NATS signing keys away from the agent: it mounts the hand-off volume only, read-only", () => {
    const agent = mounts(compose.services.agent!);
    expect(agent.map((m) => m.source)).to.not.include("state");
    const handoff = agent.find((m) => m.source === "agent-handoff");
    expect(handoff?.readOnly).to.equal(true);
    const bootstrap = mounts(compose.services.bootstrap!).find((m) => m.source === "agent-handoff");
    expect(bootstrap?.readOnly).to.equal(false);
  });

  it("pins the swarm nodes' addresses inside the swarm subnet, and advertises those addresses", () => {
    const subnet = compose.networks?.swarm?.ipam?.config?.[0]?.subnet ?? "";
    const [base = "", bits = "0"] = subnet.split("/");
    const toInt = (ip: string): number => ip.split(".").reduce((n, octet) => n * 256 + Number(octet), 0);
    const mask = bits === "0" ? 0 : (0xffffffff << (32 - Number(bits))) >>> 0;
    for (const name of ["swarm-manager", "swarm-worker"]) {
      const service = compose.services[name]!;
      const networks = service.networks as Record<string, { ipv4_address?: string }>;
      const address = networks.swarm?.ipv4_address ?? "";
      expect((toInt(address) & mask) >>> 0, `${name} ${address} in ${subnet}`).to.equal((toInt(base) & mask) >>> 0);
      expect(serviceEnv(service).SWARM_ADVERTISE_ADDR).to.equal(address);
      expect(service.privileged).to.equal(true);
    }
  });

  it("selects the images of postgres, nats and the swarm nodes by variable, defaulting to the official ones", () => {
    const images = (c: ComposeFile) =>
      ["postgres", "nats", "swarm-manager", "swarm-worker"].map((name) => c.services[name]!.image);
    expect(images(compose)).to.deep.equal([
      "postgres:16-alpine",
      "nats:2.10-alpine",
      "docker:27-dind",
      "docker:27-dind",
    ]);
    const custom = loadCompose({
      STACKYARD_POSTGRES_IMAGE: "local/postgres",
      STACKYARD_NATS_IMAGE: "local/nats",
      STACKYARD_DIND_IMAGE: "local/dind",
    });
    expect(images(custom)).to.deep.equal(["local/postgres", "local/nats", "local/dind", "local/dind"]);
  });

  it("publishes every port on a port of the host that a variable can move", () => {
    const moved = loadCompose({
      STACKYARD_HTTP_PORT: "1",
      STACKYARD_NATS_PORT: "2",
      STACKYARD_NATS_WS_PORT: "3",
      STACKYARD_NATS_LEAF_PORT: "4",
    });
    const published = Object.values(moved.services).flatMap((s) => (s.ports ?? []).map((p) => p.split(":")[1]));
    expect(published.sort()).to.deep.equal(["1", "2", "3", "4"]);
  });

  describe("docker/compose.unprivileged-dind.yml (for a Docker that refuses privileged containers)", () => {
    const override = loadCompose({}, join(ROOT, "docker/compose.unprivileged-dind.yml"));

    it("changes only the swarm nodes, into unprivileged containers with every capability but CAP_SYS_RESOURCE", () => {
      expect(Object.keys(override.services).sort()).to.deep.equal(["swarm-manager", "swarm-worker"]);
      for (const service of Object.values(override.services)) {
        expect(service.privileged).to.equal(false);
        expect(service.cap_add).to.deep.equal(["ALL"]);
        expect(service.cap_drop).to.deep.equal(["SYS_RESOURCE"]);
        expect(service.security_opt).to.include.members(["seccomp=unconfined", "apparmor=unconfined"]);
      }
    });

    it("validates against the compose-spec schema", () => {
      expect(composeSchemaErrors(override)).to.deep.equal([]);
    });
  });

  it("is accepted by `docker-compose config` when the binary is installed", async function () {
    const binary = await which("docker-compose");
    if (!binary) this.skip();
    this.timeout(60_000);
    const { stderr } = await promisify(execFile)(binary!, ["-f", COMPOSE_FILE, "config", "-q"], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
    });
    expect(stderr).to.not.match(/error/i);
  });
});
