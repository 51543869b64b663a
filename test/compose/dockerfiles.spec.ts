/**
 * The Dockerfiles build with the same scripts/build.sh as CI and `make`, on Node 22, and run as a non-root user;
 * everything they copy exists; the shell scripts they ship parse.
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import { WEB_DIST_DIR } from "../../services/_shared/paths.js";
import { ROOT, dockerfileGlobalArgs, loadCompose, readDockerfile, type DockerfileStage } from "./compose.js";

const DOCKERFILES = ["docker/Dockerfile.controlplane", "docker/Dockerfile.agent"];
const NODE_22 = /^node:22-[a-z0-9.-]+$/;
const SCRIPTS = [
  "scripts/build.sh",
  "docker/controlplane-entrypoint.sh",
  "docker/agent-entrypoint.sh",
  "docker/stackyard-agent",
  "docker/dind/swarm-node.sh",
  "docker/standin/dind",
  "docker/standin/dockerd-entrypoint.sh",
  "docker/standin/modprobe",
  "docker/standin/nats-entrypoint.sh",
  "docker/standin/postgres-entrypoint.sh",
  "scripts/build-base-images.sh",
  "scripts/test-compose.sh",
];
/** The base images, as build args: their defaults are the official images (scripts/build-base-images.sh builds
 * offline stand-ins). */
const OFFICIAL_BASES: Record<string, string> = {
  NODE_IMAGE: "node:22-bookworm",
  NODE_SLIM_IMAGE: "node:22-bookworm-slim",
  DOCKER_CLI_IMAGE: "docker:27-cli",
};
const COMPOSE_BASE_VARIABLES: Record<string, string> = {
  NODE_IMAGE: "STACKYARD_NODE_IMAGE",
  NODE_SLIM_IMAGE: "STACKYARD_NODE_SLIM_IMAGE",
  DOCKER_CLI_IMAGE: "STACKYARD_DOCKER_CLI_IMAGE",
};

const runs = (stage: DockerfileStage): string[] =>
  stage.instructions.filter((i) => i.keyword === "RUN").map((i) => i.args);
const buildFlags = (): string[] => {
  const script = readFileSync(join(ROOT, "scripts/build.sh"), "utf8");
  return [...script.matchAll(/^\s+(--[a-z-]+)\)/gm)].map((m) => m[1]!);
};

describe("Dockerfiles", () => {
  it("compose builds exactly these", () => {
    const built = Object.values(loadCompose().services)
      .map((s) => s.build?.dockerfile)
      .filter((d): d is string => d !== undefined);
    expect([...new Set(built)]).to.have.members(DOCKERFILES);
  });

  for (const path of DOCKERFILES) {
    describe(path, () => {
      const stages = readDockerfile(path);
      const build = stages.find((s) => s.name === "build");
      const runtime = stages.at(-1)!;

      it("builds in a Node 22 stage with scripts/build.sh, its flags known to the script", () => {
        expect(build, "a stage named build").to.not.equal(undefined);
        expect(build!.from).to.match(NODE_22);
        const calls = runs(build!).filter((r) => r.includes("scripts/build.sh"));
        expect(calls.length, "dependency layer and full build").to.be.greaterThanOrEqual(2);
        expect(
          calls.some((c) => !c.includes("--install-only")),
          "a full build, not only the install",
        ).to.equal(true);
        for (const call of calls) {
          expect(call).to.match(/^bash scripts\/build\.sh\b/);
          for (const flag of call.match(/--[a-z-]+/g) ?? []) expect(buildFlags()).to.include(flag);
        }
        // Nothing else builds or installs: one build for CI, make and the images.
        expect(runs(build!).filter((r) => /\bnpm (ci|install|run)\b|\btsc\b|vite build/.test(r))).to.deep.equal([]);
      });

      it("takes every base image as a build arg defaulting to the official image, which compose can set", () => {
        const globals = dockerfileGlobalArgs(path);
        expect(Object.keys(globals), "ARGs before the first FROM").to.have.length.greaterThan(0);
        for (const [name, value] of Object.entries(globals)) expect(value, name).to.equal(OFFICIAL_BASES[name]);
        const stageNames = new Set(stages.map((s) => s.name));
        const raw = readFileSync(join(ROOT, path), "utf8");
        for (const match of raw.matchAll(/^FROM\s+(\S+)/gm)) {
          const image = match[1]!;
          if (!stageNames.has(image)) expect(image, `${path}: FROM ${image}`).to.match(/^\$\{[A-Z_]+\}$/);
        }
        // compose passes each arg from its own variable, with the same default, and a set variable reaches FROM.
        const service = (env: Record<string, string>) =>
          Object.values(loadCompose(env).services).find((s) => s.build?.dockerfile === path)!;
        expect(service({}).build!.args).to.deep.equal(globals);
        const custom = Object.fromEntries(
          Object.keys(globals).map((name) => [COMPOSE_BASE_VARIABLES[name]!, `x/${name}`]),
        );
        const args = service(custom).build!.args!;
        expect(args).to.deep.equal(Object.fromEntries(Object.keys(globals).map((name) => [name, `x/${name}`])));
        const froms = readDockerfile(path, args).map((s) => s.from);
        for (const name of Object.keys(globals)) expect(froms, name).to.include(`x/${name}`);
      });

      it("runs as a non-root user", () => {
        const user = runtime.instructions.filter((i) => i.keyword === "USER").at(-1)?.args;
        expect(user, "the final stage sets USER").to.be.a("string");
        expect(user).to.not.match(/^(root|0)(:|$)/);
      });

      it("copies only files that exist in the build context", () => {
        for (const stage of stages) {
          for (const { keyword, args } of stage.instructions) {
            if (keyword !== "COPY" || args.startsWith("--from=")) continue;
            const sources = args
              .split(" ")
              .filter((a) => !a.startsWith("--"))
              .slice(0, -1);
            for (const source of sources) expect(existsSync(join(ROOT, source)), `${path}: ${source}`).to.equal(true);
          }
        }
      });
    });
  }

  it("runs the control plane and the agent on Node 22", () => {
    for (const path of DOCKERFILES) expect(readDockerfile(path).at(-1)!.from, path).to.match(NODE_22);
  });

  it("ships the built UI in the control-plane image where the gateway serves it from (web/dist under the app)", () => {
    const stages = readDockerfile("docker/Dockerfile.controlplane");
    const fullBuild = runs(stages.find((s) => s.name === "build")!).find(
      (r) => r.includes("scripts/build.sh") && !r.includes("--install-only"),
    );
    expect(fullBuild).to.not.include("--no-web");
    const runtime = stages.at(-1)!;
    const copies = runtime.instructions.filter((i) => i.keyword === "COPY").map((i) => i.args);
    // WEB_DIST_DIR defaults to <repo root>/web/dist, the repo root being where services/ lives.
    expect(copies).to.include("--from=build /src/services ./services");
    expect(copies).to.include("--from=build /src/web/dist ./web/dist");
    expect(WEB_DIST_DIR).to.equal(join(ROOT, "web", "dist"));
  });

  it("keeps dependencies, local state and secrets out of the build context", () => {
    const ignored = readFileSync(join(ROOT, ".dockerignore"), "utf8").split("\n");
    expect(ignored).to.include.members(["node_modules", ".state", ".tools", ".git", "web/dist"]);
  });

  it("ships shell scripts that parse", async () => {
    for (const script of SCRIPTS) {
      const shell = readFileSync(join(ROOT, script), "utf8").startsWith("#!/usr/bin/env bash") ? "bash" : "sh";
      await promisify(execFile)(shell, ["-n", join(ROOT, script)]);
    }
  });
});
