/**
 * The config contract between docker-compose.dev.yml, the images and the code: each container's environment
 * (image ENV + compose environment with its defaults, secrets resolved by the real entrypoint script from the
 * files the real bootstrap writes) passes the same loader the process runs at start.
 */
import { execFile } from "node:child_process";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import { parseAgentConfig } from "../../agent/src/config.js";
import { STATE_FILE } from "../../agent/src/state.js";
import { natsStateFiles } from "../../nats/identity.js";
import { ensureNatsTls, natsTlsFiles } from "../../nats/tls.js";
import { HANDOFF_FILES, controlPlaneConfig, ensureSecrets } from "../../scripts/compose-bootstrap.js";
import { loadConfig, SERVICE_NAMES } from "../../services/_shared/config.js";
import {
  ROOT,
  execForm,
  loadCompose,
  mounts,
  readDockerfile,
  serviceEnv,
  stageEnv,
  type ComposeFile,
  type ComposeService,
  type Env,
} from "./compose.js";

const run = promisify(execFile);
const CONTROLPLANE_DOCKERFILE = "docker/Dockerfile.controlplane";
const AGENT_DOCKERFILE = "docker/Dockerfile.agent";
const PRINT_ENV = ["node", "-e", "process.stdout.write(JSON.stringify(process.env))"];

interface Image {
  env: Env;
  entrypoint: string[];
  cmd: string[];
}

function image(dockerfile: string): Image {
  const runtime = readDockerfile(dockerfile).at(-1)!;
  const last = (keyword: string): string[] =>
    execForm(runtime.instructions.filter((i) => i.keyword === keyword).at(-1)?.args ?? "[]");
  return { env: stageEnv(runtime), entrypoint: last("ENTRYPOINT"), cmd: last("CMD") };
}

/** Each mount target becomes a directory under `root`; env values under a mount point are rewritten to it. */
async function mapMounts(service: ComposeService, env: Env, root: string): Promise<{ env: Env; dirs: Env }> {
  const dirs: Env = {};
  for (const mount of mounts(service)) {
    dirs[mount.target] = join(root, mount.source.replace(/[^A-Za-z0-9_-]/g, "_"));
    await mkdir(dirs[mount.target]!, { recursive: true });
  }
  const mapped = Object.fromEntries(
    Object.entries(env).map(([key, value]) => {
      const target = Object.keys(dirs).find((t) => value === t || value.startsWith(`${t}/`));
      return [key, target ? dirs[target]! + value.slice(target.length) : value];
    }),
  );
  return { env: mapped, dirs };
}

/** Runs docker/controlplane-entrypoint.sh exactly as the image does and returns the env it hands over. */
async function entrypointEnv(env: Env): Promise<Env> {
  const { stdout } = await run("sh", [join(ROOT, "docker/controlplane-entrypoint.sh"), ...PRINT_ENV], {
    env: { ...env, PATH: process.env.PATH ?? "/usr/bin:/bin" },
  });
  return JSON.parse(stdout) as Env;
}

describe("compose config contract", () => {
  let compose: ComposeFile;
  let scratch: string;
  const controlplane = image(CONTROLPLANE_DOCKERFILE);
  const agentImage = image(AGENT_DOCKERFILE);

  before(async () => {
    compose = loadCompose();
    scratch = await mkdtemp(join(tmpdir(), "stackyard-compose-"));
  });
  after(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  const controlPlaneServices = (): Array<[string, ComposeService]> =>
    Object.entries(compose.services).filter(([, s]) => s.image === compose.services.controlplane!.image);

  it("runs the gateway, the API services and the deploy workers from one image, chosen by SERVICES", () => {
    expect(controlplane.cmd).to.deep.equal(["node", "--import", "tsx", "services/main.ts"]);
    const running = controlPlaneServices().filter(([, s]) =>
      (s.command ?? controlplane.cmd).includes("services/main.ts"),
    );
    expect(running.map(([name]) => name)).to.have.members(["controlplane", "deploy-worker"]);
    const all = running.flatMap(([, s]) => (serviceEnv(s).SERVICES ?? "").split(","));
    expect(all).to.have.members([...SERVICE_NAMES]);
  });

  for (const name of ["controlplane", "deploy-worker"]) {
    it(`${name}: its environment passes loadConfig and runs the services it names`, async () => {
      const service = compose.services[name]!;
      const composeEnv = { ...controlplane.env, ...serviceEnv(service) };
      const { env, dirs } = await mapMounts(service, composeEnv, join(scratch, name));
      const stateDir = dirs[composeEnv.STACKYARD_STATE_DIR!];
      expect(stateDir, "the state volume is mounted at STACKYARD_STATE_DIR").to.be.a("string");
      await ensureSecrets(stateDir!);
      // The NATS CA the config loader reads, made as scripts/nats.ts prepare (run by the bootstrap) makes it.
      await ensureNatsTls(join(stateDir!, "nats"));

      const config = loadConfig(await entrypointEnv(env));
      expect(config.services).to.deep.equal(serviceEnv(service).SERVICES!.split(","));
      expect(config.nats.tlsCaFile).to.equal(natsTlsFiles(join(stateDir!, "nats")).caFile);
      // The NATS files are where scripts/nats.ts prepare (run by the bootstrap) writes them.
      const nats = natsStateFiles(join(composeEnv.STACKYARD_STATE_DIR!, "nats"));
      expect([composeEnv.NATS_CREDS, composeEnv.NATS_SYSTEM_CREDS, composeEnv.NATS_IDENTITY_FILE]).to.deep.equal([
        nats.controlPlaneCredsFile,
        nats.systemCredsFile,
        nats.identityFile,
      ]);
      expect(composeEnv.NATS_TLS_CA_FILE).to.equal(natsTlsFiles(join(composeEnv.STACKYARD_STATE_DIR!, "nats")).caFile);
      expect(mounts(service).find((m) => m.source === "state")?.readOnly, "state is read-only here").to.equal(true);
    });
  }

  it("the database and NATS URLs name the compose services with their credentials and ports", () => {
    const env = serviceEnv(compose.services.controlplane!);
    const pg = serviceEnv(compose.services.postgres!);
    const db = new URL(env.DATABASE_URL!);
    expect([db.hostname, db.username, db.password, db.pathname]).to.deep.equal([
      "postgres",
      pg.POSTGRES_USER,
      pg.POSTGRES_PASSWORD,
      `/${pg.POSTGRES_DB}`,
    ]);
    const nats = new URL(env.NATS_URL!);
    expect(nats.protocol, "the control plane speaks TLS to NATS").to.equal("tls:");
    expect(compose.services[nats.hostname]).to.not.equal(undefined);
    for (const url of env.NATS_AGENT_URLS!.split(",")) expect(new URL(url).protocol).to.equal("tls:");
    expect(compose.services.nats!.ports).to.include(`127.0.0.1:${nats.port}:${nats.port}`);
  });

  it("the gateway's port is the one its healthcheck and its published port use", () => {
    const service = compose.services.controlplane!;
    const port = serviceEnv(service).HTTP_PORT!;
    expect(JSON.stringify(service.healthcheck?.test)).to.include(`127.0.0.1:${port}/readyz`);
    expect(service.ports?.[0]).to.match(new RegExp(`:${port}$`));
  });

  it("bootstrap: its environment, with the secrets it generates, passes loadConfig", async () => {
    const service = compose.services.bootstrap!;
    const composeEnv = { ...controlplane.env, ...serviceEnv(service) };
    const { env, dirs } = await mapMounts(service, composeEnv, join(scratch, "bootstrap"));
    const { secrets } = await ensureSecrets(dirs[composeEnv.STACKYARD_STATE_DIR!]!);
    // scripts/nats.ts prepare (step 2 of the bootstrap) makes the CA before the config is validated (step 3).
    await ensureNatsTls(join(dirs[composeEnv.STACKYARD_STATE_DIR!]!, "nats"));
    const config = controlPlaneConfig(env, secrets);
    expect(config.services).to.deep.equal([...SERVICE_NAMES]);
    // It writes the state the services read, and the hand-off the agent reads.
    const stateVolume = mounts(service).find((m) => m.target === composeEnv.STACKYARD_STATE_DIR)?.source;
    expect(
      mounts(compose.services.controlplane!).find((m) => m.target === composeEnv.STACKYARD_STATE_DIR)?.source,
    ).to.equal(stateVolume);
    const handoffVolume = mounts(service).find((m) => m.target === composeEnv.STACKYARD_AGENT_HANDOFF_DIR)?.source;
    const agentEnv = serviceEnv(compose.services.agent!);
    expect(
      mounts(compose.services.agent!).find((m) => m.target === agentEnv.STACKYARD_AGENT_HANDOFF_DIR)?.source,
    ).to.equal(handoffVolume);
  });

  describe("docker/controlplane-entrypoint.sh", () => {
    it("turns NAME_FILE into NAME for the secret variables only", async () => {
      const dir = await mkdtemp(join(scratch, "entry-"));
      await writeFile(join(dir, "key"), "k1:abc\n");
      const env = await entrypointEnv({ AUTH_JWT_KEYS_FILE: join(dir, "key"), NATS_IDENTITY_FILE: join(dir, "key") });
      expect(env.AUTH_JWT_KEYS).to.equal("k1:abc");
      expect(env).to.not.have.property("AUTH_JWT_KEYS_FILE");
      expect(env.NATS_IDENTITY_FILE).to.equal(join(dir, "key"));
      expect(env).to.not.have.property("NATS_IDENTITY");
    });

    it("refuses a missing file and a variable set both ways", async () => {
      const missing = await entrypointEnv({ CONTROLPLANE_MASTER_KEY_FILE: join(scratch, "nope") }).catch(
        (e: unknown) => e as { code: number; stderr: string },
      );
      expect(missing).to.include({ code: 2 });
      expect((missing as { stderr: string }).stderr).to.include("CONTROLPLANE_MASTER_KEY_FILE: cannot read");
      const both = await entrypointEnv({ DATABASE_URL: "postgres://x", DATABASE_URL_FILE: "/etc/hostname" }).catch(
        (e: unknown) => e as { code: number },
      );
      expect(both).to.include({ code: 2 });
    });
  });

  describe("agent", () => {
    const agentEnv = (): Env => ({ ...agentImage.env, ...serviceEnv(compose.services.agent!) });

    it("its environment passes the agent's config loader for register and run", () => {
      const env = agentEnv();
      const register = parseAgentConfig(["register"], { ...env, STACKYARD_AGENT_TOKEN: "syr_token" });
      expect(register).to.include({ command: "register", url: "http://controlplane:8080" });
      const runConfig = parseAgentConfig(["run"], env);
      expect(runConfig).to.include({ command: "run", stateDir: env.STACKYARD_AGENT_STATE_DIR });
      const port = serviceEnv(compose.services.controlplane!).HTTP_PORT;
      expect(new URL(env.STACKYARD_AGENT_URL!).port || "80").to.equal(port);
    });

    it("runs in leaf mode, its leaf dialling the nats service's leafnode listener over TLS", async () => {
      const runConfig = parseAgentConfig(["run"], agentEnv());
      expect(runConfig).to.include({ command: "run", natsMode: "leaf", natsAuth: "none" });
      const hub = new URL((runConfig as { leafHubUrl: string }).leafHubUrl.replace(/^tls:/, "http:"));
      expect(hub.hostname).to.equal("nats");
      const template = await readFile(join(ROOT, "nats/server.conf.template"), "utf8");
      expect(template).to.match(/\nleafnodes: \{\n(?: {2}.*\n)* {2}tls: \{/);
      const natsPorts = (compose.services.nats!.ports ?? []).map(String);
      expect(
        natsPorts.some((p) => p.endsWith(`:${hub.port}`)),
        "the hub's leafnode port",
      ).to.equal(true);
    });

    it("reaches the swarm manager's Docker socket through their shared volume, as a member of its group", async () => {
      const env = agentEnv();
      const script = await readFile(join(ROOT, "docker/dind/swarm-node.sh"), "utf8");
      const socketDir = /^AGENT_SOCKET_DIR=(\S+)$/m.exec(script)?.[1];
      const manager = compose.services["swarm-manager"]!;
      const managerMount = mounts(manager).find((m) => m.target === socketDir);
      expect(managerMount, "the manager shares its socket directory").to.not.equal(undefined);
      const agentMount = mounts(compose.services.agent!).find((m) => m.source === managerMount!.source);
      expect(env.STACKYARD_AGENT_DOCKER_SOCKET).to.equal(`${agentMount!.target}/docker.sock`);
      expect(compose.services.agent!.group_add?.map(String)).to.include(serviceEnv(manager).STACKYARD_DOCKER_GID);
      expect(mounts(compose.services.agent!).find((m) => m.target === env.STACKYARD_AGENT_STATE_DIR)?.named).to.equal(
        true,
      );
    });

    describe("docker/agent-entrypoint.sh", () => {
      let dir: string;
      let handoff: string;
      let state: string;
      let calls: string;

      beforeEach(async () => {
        dir = await mkdtemp(join(scratch, "agent-"));
        handoff = join(dir, "handoff");
        state = join(dir, "state");
        calls = join(dir, "calls");
        await mkdir(handoff);
        await mkdir(state);
        await mkdir(join(dir, "bin"));
        // Stands in for the image's stackyard-agent: records each call; register writes the state it names.
        await writeFile(
          join(dir, "bin", "stackyard-agent"),
          [
            "#!/bin/sh",
            `echo "$* token=\${STACKYARD_AGENT_TOKEN:-}" >>"${calls}"`,
            `if [ "$1" = register ]; then printf '{"clusterId":"%s"}' "$(cat "${handoff}/${HANDOFF_FILES.clusterId}")" >"${state}/${STATE_FILE}"; fi`,
            "",
          ].join("\n"),
        );
        await chmod(join(dir, "bin", "stackyard-agent"), 0o755);
      });

      const entrypoint = () =>
        run("sh", [join(ROOT, "docker/agent-entrypoint.sh")], {
          env: {
            PATH: `${join(dir, "bin")}:${process.env.PATH ?? "/usr/bin:/bin"}`,
            STACKYARD_AGENT_HANDOFF_DIR: handoff,
            STACKYARD_AGENT_STATE_DIR: state,
          },
        });
      const handOff = async (clusterId: string, token: string | null) => {
        await writeFile(join(handoff, HANDOFF_FILES.clusterId), `${clusterId}\n`);
        if (token === null) await rm(join(handoff, HANDOFF_FILES.registrationToken), { force: true });
        else await writeFile(join(handoff, HANDOFF_FILES.registrationToken), `${token}\n`);
      };
      const readCalls = async () => (await readFile(calls, "utf8")).trim().split("\n");

      it("registers once with the handed-off token, then only runs", async () => {
        await handOff("c1", "syr_one");
        await entrypoint();
        expect(await readCalls()).to.deep.equal(["register token=syr_one", "run token="]);
        await handOff("c1", null);
        await entrypoint();
        expect((await readCalls()).slice(2)).to.deep.equal(["run token="]);
      });

      it("registers again (--force) when the state belongs to another cluster", async () => {
        await handOff("c1", "syr_one");
        await entrypoint();
        await handOff("c2", "syr_two");
        await entrypoint();
        expect((await readCalls()).slice(2)).to.deep.equal(["register --force token=syr_two", "run token="]);
      });

      it("fails with instructions when it must register but has no token", async () => {
        await handOff("c1", null);
        const err = (await entrypoint().catch((e: unknown) => e)) as { code: number; stderr: string };
        expect(err.code).to.equal(1);
        expect(err.stderr).to.include("--new-agent-token");
      });
    });
  });
});
