/**
 * The docker CLI, used only where the Engine API has no equivalent: `docker stack deploy` / `docker stack rm`.
 * Always spawned with an argument array (no shell), compose on stdin, output delivered line by line as it arrives.
 */
import { spawn } from "node:child_process";
import { StringDecoder } from "node:string_decoder";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RegistryLogin, ResolveImage } from "../deploy/types.js";
import { CodedError } from "../errors.js";

export const DEFAULT_DOCKER_BINARY = "docker";
/** Time between SIGTERM and SIGKILL when a run is aborted. */
export const DEFAULT_KILL_GRACE_MS = 5_000;
/** How many trailing stderr lines a DockerCliError keeps for diagnosis. */
export const STDERR_TAIL_LINES = 20;

export type CliStream = "stdout" | "stderr";
export interface CliLine {
  stream: CliStream;
  line: string;
}
export type OnCliLine = (line: CliLine) => void;

export type DockerCliErrorCode =
  | "DOCKER_CLI_FAILED"
  | "DOCKER_CLI_NOT_FOUND"
  | "DOCKER_CLI_ABORTED"
  | "DOCKER_CLI_RESERVED_ENV"
  | "DOCKER_CLI_INVALID_ARGS";

/**
 * A docker CLI run that did not succeed. The message names the command and exit code only: the output may echo
 * interpolated values, so it lives in `stderrTail` for the caller to mask and show, never in the message.
 */
export class DockerCliError extends CodedError<DockerCliErrorCode> {
  constructor(
    code: DockerCliErrorCode,
    message: string,
    readonly command: string[],
    readonly exitCode: number | null,
    readonly signal: NodeJS.Signals | null,
    readonly stderrTail: string[],
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

export interface StackDeployOptions {
  stackName: string;
  composeYaml: string;
  env: Record<string, string>;
  prune: boolean;
  resolveImage: ResolveImage;
  withRegistryAuth: boolean;
  /**
   * Logins for this run only: written to a fresh DOCKER_CONFIG directory (0700, config.json 0600) that only this
   * child sees and that is removed when it ends, so nothing is left in the agent user's docker config.
   */
  registryLogins?: readonly RegistryLogin[];
  onLine: OnCliLine;
  signal: AbortSignal;
}

/** What the deploy executor needs from the CLI; unit tests pass a fake. */
export interface DockerCli {
  stackDeploy(opts: StackDeployOptions): Promise<void>;
  stackRemove(stackName: string, opts: { onLine?: OnCliLine; signal: AbortSignal }): Promise<void>;
}

export interface DockerCliOptions {
  binary?: string;
  /** Engine socket; sets DOCKER_HOST for the child when given. */
  socketPath?: string;
  killGraceMs?: number;
  /** Environment the CLI itself needs (PATH, HOME, DOCKER_CONFIG…); defaults to those picked from process.env. */
  baseEnv?: Record<string, string>;
}

/**
 * Variables a request may not set: they steer the CLI itself (which daemon, which registry credentials), and the
 * compose file and env come from the control plane, not from the agent's operator.
 */
const RESERVED_ENV = /^(DOCKER_.*|PATH|HOME|XDG_.*|SSH_.*|HTTPS?_PROXY|NO_PROXY|https?_proxy|no_proxy)$/;
/** The only agent variables the child inherits; the agent's own credentials must not reach compose interpolation. */
const INHERITED_ENV = /^(PATH|HOME|LANG|LC_.*|TZ|TMPDIR|DOCKER_.*|XDG_.*|HTTPS?_PROXY|NO_PROXY|https?_proxy|no_proxy)$/;

/** Docker's own rule for stack names; also keeps a name from being read as a flag (`--prune`). */
const STACK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;

function checkStackName(binary: string, args: string[], stackName: string): void {
  if (!STACK_NAME.test(stackName)) {
    throw new DockerCliError(
      "DOCKER_CLI_INVALID_ARGS",
      `invalid stack name ${JSON.stringify(stackName.slice(0, 80))}`,
      [binary, ...args],
      null,
      null,
      [],
    );
  }
}

export function pickCliBaseEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && INHERITED_ENV.test(k)) out[k] = v;
  return out;
}

/** Docker Hub's key in a docker config's `auths`; every other registry is keyed by its host[:port]. */
const DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/";

/** A temporary DOCKER_CONFIG holding exactly these logins (what `docker login` would write), for one CLI run. */
export async function writeDockerConfig(logins: readonly RegistryLogin[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "stackyard-docker-config-"));
  const auths = Object.fromEntries(
    logins.map((l) => [
      l.registry === "docker.io" ? DOCKER_HUB_AUTH_KEY : l.registry,
      { auth: Buffer.from(`${l.username}:${l.password}`).toString("base64") },
    ]),
  );
  try {
    await writeFile(join(dir, "config.json"), JSON.stringify({ auths }), { mode: 0o600 });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return dir;
}

export function stackDeployArgs(
  opts: Pick<StackDeployOptions, "stackName" | "prune" | "resolveImage" | "withRegistryAuth">,
): string[] {
  // --detach=true: the agent watches convergence itself (deploy/convergence.ts); said explicitly because the CLI
  // warns on every deploy that its default will change to --detach=false.
  const args = ["stack", "deploy", "--detach=true", "--compose-file", "-", "--resolve-image", opts.resolveImage];
  if (opts.withRegistryAuth) args.push("--with-registry-auth");
  if (opts.prune) args.push("--prune");
  args.push(opts.stackName);
  return args;
}

export function createDockerCli(options: DockerCliOptions = {}): DockerCli {
  const binary = options.binary ?? DEFAULT_DOCKER_BINARY;
  const baseEnv = { ...(options.baseEnv ?? pickCliBaseEnv(process.env)) };
  if (options.socketPath) baseEnv.DOCKER_HOST = `unix://${options.socketPath}`;
  const killGraceMs = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;

  return {
    async stackDeploy(opts) {
      const args = stackDeployArgs(opts);
      checkStackName(binary, args, opts.stackName);
      const reserved = Object.keys(opts.env).filter((k) => RESERVED_ENV.test(k));
      if (reserved.length > 0) {
        throw new DockerCliError(
          "DOCKER_CLI_RESERVED_ENV",
          `environment variables reserved for the docker CLI cannot be set by a deployment: ${reserved.join(", ")}`,
          [binary, ...args],
          null,
          null,
          [],
        );
      }
      const logins = opts.registryLogins ?? [];
      const configDir = logins.length > 0 ? await writeDockerConfig(logins) : null;
      try {
        await runDocker({
          binary,
          args,
          env: { ...opts.env, ...baseEnv, ...(configDir ? { DOCKER_CONFIG: configDir } : {}) },
          stdin: opts.composeYaml,
          onLine: opts.onLine,
          signal: opts.signal,
          killGraceMs,
        });
      } finally {
        if (configDir) await rm(configDir, { recursive: true, force: true });
      }
    },

    async stackRemove(stackName, opts) {
      const args = ["stack", "rm", stackName];
      checkStackName(binary, args, stackName);
      await runDocker({
        binary,
        args,
        env: baseEnv,
        onLine: opts.onLine ?? (() => undefined),
        signal: opts.signal,
        killGraceMs,
      });
    },
  };
}

export interface RunDockerOptions {
  binary: string;
  args: string[];
  env: Record<string, string>;
  stdin?: string;
  onLine: OnCliLine;
  signal: AbortSignal;
  killGraceMs: number;
}

/** Runs the CLI to completion; rejects with DockerCliError on a non-zero exit, a spawn failure or an abort. */
export function runDocker(opts: RunDockerOptions): Promise<void> {
  const command = [opts.binary, ...opts.args];
  const describe = `${opts.binary} ${opts.args.slice(0, 2).join(" ")}`;
  return new Promise((resolve, reject) => {
    if (opts.signal.aborted) {
      reject(
        new DockerCliError("DOCKER_CLI_ABORTED", `${describe} was canceled before it started`, command, null, null, []),
      );
      return;
    }
    const child = spawn(opts.binary, opts.args, { env: opts.env, stdio: ["pipe", "pipe", "pipe"], shell: false });
    const stderrTail: string[] = [];
    let spawnError: NodeJS.ErrnoException | null = null;
    let aborted = false;
    let killTimer: NodeJS.Timeout | null = null;

    const deliver = (stream: CliStream, line: string) => {
      if (stream === "stderr") {
        stderrTail.push(line);
        if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
      }
      opts.onLine({ stream, line });
    };
    const stdout = new LineSplitter((line) => deliver("stdout", line));
    const stderr = new LineSplitter((line) => deliver("stderr", line));
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));

    const onAbort = () => {
      aborted = true;
      child.kill("SIGTERM");
      killTimer = setTimeout(() => child.kill("SIGKILL"), opts.killGraceMs);
      killTimer.unref();
    };
    opts.signal.addEventListener("abort", onAbort, { once: true });

    child.on("error", (err: NodeJS.ErrnoException) => {
      spawnError = err;
    });
    // The child may exit before reading all of stdin (bad flag, missing daemon): that EPIPE is not the failure.
    child.stdin.on("error", () => undefined);
    child.stdin.end(opts.stdin ?? "");

    // "close" (not "exit") fires after stdout/stderr are drained, so no line is lost.
    child.on("close", (exitCode, signal) => {
      opts.signal.removeEventListener("abort", onAbort);
      if (killTimer) clearTimeout(killTimer);
      stdout.end();
      stderr.end();
      const failure = (code: DockerCliErrorCode, message: string, cause?: unknown) =>
        new DockerCliError(code, message, command, exitCode, signal, [...stderrTail], cause ? { cause } : undefined);
      if (spawnError) {
        const err: NodeJS.ErrnoException = spawnError;
        reject(
          err.code === "ENOENT"
            ? failure("DOCKER_CLI_NOT_FOUND", `docker CLI not found: ${opts.binary} is not on PATH`, err)
            : failure("DOCKER_CLI_FAILED", `${describe} could not be started (${err.code ?? "error"})`, err),
        );
      } else if (aborted) {
        reject(failure("DOCKER_CLI_ABORTED", `${describe} was canceled (${signal ?? `exit code ${exitCode}`})`));
      } else if (exitCode !== 0) {
        reject(
          failure(
            "DOCKER_CLI_FAILED",
            exitCode === null ? `${describe} was killed by ${signal}` : `${describe} failed with exit code ${exitCode}`,
          ),
        );
      } else {
        resolve();
      }
    });
  });
}

/** Cuts a byte stream into lines: handles chunks split mid-line or mid-character, CRLF, and a last line without \n. */
export class LineSplitter {
  private readonly decoder = new StringDecoder("utf8");
  private partial = "";

  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: Buffer): void {
    const text = this.partial + this.decoder.write(chunk);
    const parts = text.split("\n");
    this.partial = parts.pop() ?? "";
    for (const part of parts) this.onLine(part.endsWith("\r") ? part.slice(0, -1) : part);
  }

  end(): void {
    const rest = this.partial + this.decoder.end();
    this.partial = "";
    if (rest) this.onLine(rest.endsWith("\r") ? rest.slice(0, -1) : rest);
  }
}
