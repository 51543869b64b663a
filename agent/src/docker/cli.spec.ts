import { expect } from "chai";
import { chmod, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createDockerCli,
  DockerCliError,
  LineSplitter,
  pickCliBaseEnv,
  runDocker,
  stackDeployArgs,
  type CliLine,
} from "./cli.js";

/** Runs a Node script as the "docker" binary: a real child process, real pipes and signals. */
function runScript(
  script: string,
  opts: { stdin?: string; signal?: AbortSignal; env?: Record<string, string>; killGraceMs?: number } = {},
) {
  const lines: CliLine[] = [];
  const done = runDocker({
    binary: process.execPath,
    args: ["-e", script],
    env: opts.env ?? {},
    stdin: opts.stdin,
    onLine: (l) => lines.push(l),
    signal: opts.signal ?? new AbortController().signal,
    killGraceMs: opts.killGraceMs ?? 2_000,
  });
  return { lines, done };
}

async function rejection(p: Promise<unknown>): Promise<DockerCliError> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(DockerCliError);
    return err as DockerCliError;
  }
  throw new Error("expected a rejection");
}

describe("LineSplitter", () => {
  it("joins partial chunks, splits CRLF and multi-byte characters across chunks, and flushes the last line", () => {
    const out: string[] = [];
    const s = new LineSplitter((l) => out.push(l));
    const euro = Buffer.from("€");
    s.push(Buffer.from("Creating net"));
    s.push(Buffer.from("work x\r\nsecond "));
    s.push(euro.subarray(0, 1));
    s.push(Buffer.concat([euro.subarray(1), Buffer.from("\n\nno newline at end")]));
    expect(out).to.deep.equal(["Creating network x", "second €", ""]);
    s.end();
    expect(out).to.deep.equal(["Creating network x", "second €", "", "no newline at end"]);
  });
});

describe("stackDeployArgs", () => {
  it("builds an argument array with the compose on stdin and the requested flags", () => {
    expect(
      stackDeployArgs({ stackName: "shop", prune: true, resolveImage: "changed", withRegistryAuth: true }),
    ).to.deep.equal([
      "stack",
      "deploy",
      "--detach=true",
      "--compose-file",
      "-",
      "--resolve-image",
      "changed",
      "--with-registry-auth",
      "--prune",
      "shop",
    ]);
    expect(
      stackDeployArgs({ stackName: "shop", prune: false, resolveImage: "never", withRegistryAuth: false }),
    ).to.deep.equal(["stack", "deploy", "--detach=true", "--compose-file", "-", "--resolve-image", "never", "shop"]);
  });
});

describe("runDocker (real child process)", () => {
  it("delivers stdout and stderr lines as they arrive, including a last line without newline", async () => {
    const { lines, done } = runScript(`
      process.stdout.write("Creating network a\\nCreating ser");
      setTimeout(() => { process.stderr.write("warning one\\n"); process.stdout.write("vice a_web\\nlast"); }, 30);
    `);
    await done;
    expect(lines).to.deep.include.members([
      { stream: "stdout", line: "Creating network a" },
      { stream: "stdout", line: "Creating service a_web" },
      { stream: "stderr", line: "warning one" },
      { stream: "stdout", line: "last" },
    ]);
    expect(lines.filter((l) => l.stream === "stdout").map((l) => l.line)).to.deep.equal([
      "Creating network a",
      "Creating service a_web",
      "last",
    ]);
  });

  it("writes stdin to the child and passes the given environment only", async () => {
    const { lines, done } = runScript(
      `let s=""; process.stdin.on("data", d => s += d).on("end", () => console.log(JSON.stringify({ s, v: process.env.GREETING, keys: Object.keys(process.env).filter(k => k !== "GREETING" && !k.startsWith("NODE")) })));`,
      { stdin: "services:\n  web: {}\n", env: { GREETING: "hello" } },
    );
    await done;
    const out = JSON.parse(lines[0]?.line ?? "{}") as { s: string; v: string; keys: string[] };
    expect(out.s).to.equal("services:\n  web: {}\n");
    expect(out.v).to.equal("hello");
    expect(out.keys).to.deep.equal([]);
  });

  it("fails with command, exit code and the stderr tail, keeping stderr out of the message", async () => {
    const { done } = runScript(`console.error(process.env.X + " leaked by the CLI"); process.exit(3);`, {
      env: { X: "value-of-a-secret" },
    });
    const err = await rejection(done);
    expect(err.code).to.equal("DOCKER_CLI_FAILED");
    expect(err.exitCode).to.equal(3);
    expect(err.command[0]).to.equal(process.execPath);
    expect(err.stderrTail).to.deep.equal(["value-of-a-secret leaked by the CLI"]);
    expect(err.message).to.match(/failed with exit code 3$/);
    expect(err.message).not.to.include("value-of-a-secret");
  });

  it("kills the child on abort with SIGTERM", async () => {
    const controller = new AbortController();
    const { lines, done } = runScript(`console.log("started"); setInterval(() => {}, 1000);`, {
      signal: controller.signal,
    });
    while (lines.length === 0) await new Promise((r) => setTimeout(r, 10));
    controller.abort();
    const err = await rejection(done);
    expect(err.code).to.equal("DOCKER_CLI_ABORTED");
    expect(err.signal).to.equal("SIGTERM");
  });

  it("escalates to SIGKILL when the child ignores SIGTERM", async () => {
    const controller = new AbortController();
    const { lines, done } = runScript(
      `process.on("SIGTERM", () => console.log("ignoring")); console.log("started"); setInterval(() => {}, 1000);`,
      { signal: controller.signal, killGraceMs: 100 },
    );
    while (lines.length === 0) await new Promise((r) => setTimeout(r, 10));
    const t0 = Date.now();
    controller.abort();
    const err = await rejection(done);
    expect(err.code).to.equal("DOCKER_CLI_ABORTED");
    expect(err.signal).to.equal("SIGKILL");
    expect(Date.now() - t0).to.be.lessThan(2_000);
    expect(lines.map((l) => l.line)).to.include("ignoring");
  });

  it("does not start when already aborted", async () => {
    const controller = new AbortController();
    controller.abort();
    const { lines, done } = runScript(`console.log("should not run")`, { signal: controller.signal });
    const err = await rejection(done);
    expect(err.code).to.equal("DOCKER_CLI_ABORTED");
    expect(lines).to.deep.equal([]);
  });

  it("reports a missing binary as DOCKER_CLI_NOT_FOUND", async () => {
    const err = await rejection(
      runDocker({
        binary: "/nonexistent/docker",
        args: ["stack", "deploy"],
        env: {},
        onLine: () => undefined,
        signal: new AbortController().signal,
        killGraceMs: 100,
      }),
    );
    expect(err.code).to.equal("DOCKER_CLI_NOT_FOUND");
  });
});

describe("createDockerCli", () => {
  it("rejects env variables that would steer the CLI itself", async () => {
    const cli = createDockerCli({ binary: "/nonexistent/docker", baseEnv: {} });
    const err = await rejection(
      cli.stackDeploy({
        stackName: "s",
        composeYaml: "",
        env: { DOCKER_HOST: "tcp://evil:2375", PATH: "/tmp", OK: "1" },
        prune: false,
        resolveImage: "never",
        withRegistryAuth: false,
        onLine: () => undefined,
        signal: new AbortController().signal,
      }),
    );
    expect(err.code).to.equal("DOCKER_CLI_RESERVED_ENV");
    expect(err.message).to.include("DOCKER_HOST, PATH");
  });

  it("hands registry logins to that one run through a temporary DOCKER_CONFIG, removed afterwards (also on failure)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "stackyard-cli-spec-"));
    try {
      // A stand-in docker binary that shows what it was given, then exits with $EXIT.
      const binary = join(dir, "docker");
      await writeFile(
        binary,
        '#!/bin/sh\necho "config=$DOCKER_CONFIG"\nstat -c "%a" "$DOCKER_CONFIG" "$DOCKER_CONFIG/config.json"\ncat "$DOCKER_CONFIG/config.json"; echo\nexit "${EXIT:-0}"\n',
      );
      await chmod(binary, 0o755);
      const deployWith = async (exit: string) => {
        const lines: string[] = [];
        const cli = createDockerCli({ binary, baseEnv: { PATH: process.env.PATH ?? "" } });
        const run = cli.stackDeploy({
          stackName: "s",
          composeYaml: "",
          env: { EXIT: exit },
          prune: false,
          resolveImage: "never",
          withRegistryAuth: true,
          registryLogins: [
            { registry: "127.0.0.1:5000", username: "ci", password: "pw" },
            { registry: "docker.io", username: "hub", password: "h" },
          ],
          onLine: (l) => lines.push(l.line),
          signal: new AbortController().signal,
        });
        const error = await run.then(
          () => null,
          (err: unknown) => err,
        );
        return { lines, error };
      };
      const ok = await deployWith("0");
      expect(ok.error).to.equal(null);
      const configDir = ok.lines[0]!.replace(/^config=/, "");
      expect(configDir).to.match(/stackyard-docker-config-/);
      expect(ok.lines.slice(1, 3)).to.deep.equal(["700", "600"]);
      expect(JSON.parse(ok.lines[3]!)).to.deep.equal({
        auths: {
          "127.0.0.1:5000": { auth: Buffer.from("ci:pw").toString("base64") },
          "https://index.docker.io/v1/": { auth: Buffer.from("hub:h").toString("base64") },
        },
      });
      expect(await stat(configDir).catch(() => null), "removed after the run").to.equal(null);

      const failed = await deployWith("3");
      expect(failed.error).to.be.instanceOf(DockerCliError);
      expect(await stat(failed.lines[0]!.replace(/^config=/, "")).catch(() => null)).to.equal(null);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("rejects stack names the CLI could read as flags", async () => {
    const cli = createDockerCli({ binary: "/nonexistent/docker", baseEnv: {} });
    const signal = new AbortController().signal;
    const err = await rejection(cli.stackRemove("--help", { signal }));
    expect(err.code).to.equal("DOCKER_CLI_INVALID_ARGS");
    const deployErr = await rejection(
      cli.stackDeploy({
        stackName: "a b",
        composeYaml: "",
        env: {},
        prune: false,
        resolveImage: "never",
        withRegistryAuth: false,
        onLine: () => undefined,
        signal,
      }),
    );
    expect(deployErr.code).to.equal("DOCKER_CLI_INVALID_ARGS");
  });

  it("inherits only the variables the CLI needs from the agent's environment", () => {
    const picked = pickCliBaseEnv({
      PATH: "/bin",
      HOME: "/root",
      DOCKER_CONFIG: "/cfg",
      STACKYARD_AGENT_CREDS: "x",
      NATS_URL: "y",
    });
    expect(picked).to.deep.equal({ PATH: "/bin", HOME: "/root", DOCKER_CONFIG: "/cfg" });
  });
});
