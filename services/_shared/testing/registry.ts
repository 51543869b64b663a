/**
 * A real container registry for tests: Debian's `docker-registry` (the distribution registry) on a free loopback
 * port with htpasswd basic auth (`htpasswd` from apache2-utils), both installed with apt when missing. Plain HTTP
 * is enough: dockerd treats 127.0.0.0/8 as an insecure registry by default. Images are pushed with a throwaway
 * DOCKER_CONFIG, so no login is ever left in this machine's docker config.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { waitForPort } from "../../../nats/server.js";
import { freePort } from "./nats-server.js";

const run = promisify(execFile);

export interface TestRegistry {
  /** `127.0.0.1:<port>`, as image references name it. */
  host: string;
  username: string;
  password: string;
  /** Tags `source` as `<host>/<repository>`, pushes it, and removes the local tag (the node then has to pull). */
  push(source: string, repository: string): Promise<string>;
  stop(): Promise<void>;
}

async function has(binary: string): Promise<boolean> {
  return run("sh", ["-c", `command -v ${binary}`]).then(
    () => true,
    () => false,
  );
}

async function ensurePackages(): Promise<void> {
  const missing = [
    ...((await has("docker-registry")) ? [] : ["docker-registry"]),
    ...((await has("htpasswd")) ? [] : ["apache2-utils"]),
  ];
  if (missing.length === 0) return;
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  await run("apt-get", ["update", "-qq"], { env, timeout: 300_000 });
  await run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...missing], { env, timeout: 300_000 });
}

export async function startTestRegistry(username: string, password: string): Promise<TestRegistry> {
  await ensurePackages();
  const dir = await mkdtemp(join(tmpdir(), "stackyard-test-registry-"));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const htpasswd = (await run("htpasswd", ["-Bbn", username, password])).stdout;
  await writeFile(join(dir, "htpasswd"), htpasswd, { mode: 0o600 });
  await writeFile(
    join(dir, "config.yml"),
    [
      "version: 0.1",
      "log: { level: warn }",
      "storage:",
      `  filesystem: { rootdirectory: ${join(dir, "data")} }`,
      "  delete: { enabled: true }",
      "http:",
      `  addr: ${host}`,
      "auth:",
      `  htpasswd: { realm: stackyard-test, path: ${join(dir, "htpasswd")} }`,
      "",
    ].join("\n"),
  );
  const child: ChildProcess = spawn("docker-registry", ["serve", join(dir, "config.yml")], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  const stderr: string[] = [];
  child.stderr?.on("data", (c: Buffer) => stderr.push(c.toString("utf8")));
  try {
    await waitForPort("127.0.0.1", port, 15_000);
  } catch (err) {
    child.kill("SIGKILL");
    throw new Error(`docker-registry did not start: ${stderr.join("").slice(-2000)}`, { cause: err });
  }

  const pushed: string[] = [];
  return {
    host,
    username,
    password,
    async push(source, repository) {
      const target = `${host}/${repository}`;
      const config = await mkdtemp(join(tmpdir(), "stackyard-test-push-"));
      try {
        await run("docker", ["tag", source, target]);
        const login = spawn("docker", ["--config", config, "login", host, "-u", username, "--password-stdin"], {
          stdio: ["pipe", "ignore", "pipe"],
        });
        login.stdin.end(password);
        const code = await new Promise<number | null>((r) => login.once("exit", r));
        if (code !== 0) throw new Error(`docker login ${host} failed`);
        await run("docker", ["--config", config, "push", target], { timeout: 120_000 });
      } finally {
        await rm(config, { recursive: true, force: true });
        await run("docker", ["image", "rm", target]).catch(() => undefined);
      }
      pushed.push(target);
      return target;
    },
    async stop() {
      // Whatever a deploy pulled from it.
      for (const image of pushed) await run("docker", ["image", "rm", image]).catch(() => undefined);
      child.kill("SIGTERM");
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once("exit", r)));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
