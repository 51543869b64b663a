/**
 * The build's copy of the repository at one commit: a bare repository in a private temp dir, fetched with git's
 * own transport policy and an isolated identity (no ~/.ssh, no agent, no global config; a token only through a
 * one-shot credential helper reading a 0600 file). A service's build context is then `git archive <commit>:<dir>`
 * streamed straight into the Docker build: nothing is checked out, so no file of the repository is ever executed.
 */
import { execFile, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { BuildError } from "./errors.js";

/** What the control plane sealed for the agent: the address it checked and the credential of the stack's source. */
export interface GitAuth {
  address?: string;
  https?: { username: string; token: string };
  ssh?: { privateKey: string; knownHosts: string; hostKeyAlias: string };
}

export interface Checkout {
  /** A tar stream of the directory `context` ("" for the root) at the commit. */
  archive(context: string, signal: AbortSignal): Readable;
  /** The git tree id of `context` at the commit: it changes exactly when a file under it does. */
  treeId(context: string): Promise<string>;
  close(): Promise<void>;
}

const GIT_TIMEOUT_MS = 10 * 60_000;

function quote(value: string): string {
  if (!/^[A-Za-z0-9_./:[\]@-]+$/.test(value)) throw new Error("refusing to shell-quote an unexpected value");
  return `'${value}'`;
}

export async function checkoutCommit(
  repoUrl: string,
  commit: string,
  auth: GitAuth | null,
  signal: AbortSignal,
): Promise<Checkout> {
  const dir = await mkdtemp(join(tmpdir(), "stackyard-build-git-"));
  const idDir = await mkdtemp(join(tmpdir(), "stackyard-build-id-"));
  const config: string[] = [
    "-c",
    "protocol.allow=never",
    "-c",
    "protocol.https.allow=always",
    "-c",
    "protocol.ssh.allow=always",
    "-c",
    "protocol.file.allow=always",
    "-c",
    "credential.helper=",
    "-c",
    "core.hooksPath=/dev/null",
    "-c",
    "http.followRedirects=false",
  ];
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: idDir,
    GIT_DIR: dir,
    GIT_TERMINAL_PROMPT: "0",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_ASKPASS: "/bin/false",
    SSH_ASKPASS: "/bin/false",
    LC_ALL: "C",
  };
  try {
    const ssh = auth?.ssh;
    if (ssh) {
      await writeFile(join(idDir, "id"), ssh.privateKey, { mode: 0o600 });
      await writeFile(join(idDir, "known_hosts"), ssh.knownHosts, { mode: 0o600 });
    }
    env.GIT_SSH_COMMAND = [
      "ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes -o IdentityAgent=none",
      `-o IdentityFile=${ssh ? quote(join(idDir, "id")) : "none"}`,
      `-o UserKnownHostsFile=${ssh ? quote(join(idDir, "known_hosts")) : "/dev/null"}`,
      "-o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o UpdateHostKeys=no",
      ...(ssh ? [`-o HostKeyAlias=${quote(ssh.hostKeyAlias)}`] : []),
      "-o ForwardAgent=no -o ProxyCommand=none -o ControlMaster=no -o PasswordAuthentication=no -o ConnectTimeout=10",
    ].join(" ");
    if (auth?.address && /^https?:\/\//.test(repoUrl)) {
      // curl connects to the address the control plane's SSRF guard checked (TLS still verifies the name).
      const url = new URL(repoUrl);
      const port = url.port || (url.protocol === "https:" ? "443" : "80");
      const address = auth.address.includes(":") ? `[${auth.address}]` : auth.address;
      config.push("-c", `http.curloptResolve=${url.hostname}:${port}:${address}`);
    }
    if (auth?.https) {
      const file = join(idDir, "credential");
      await writeFile(file, `username=${auth.https.username}\npassword=${auth.https.token}\n`, { mode: 0o600 });
      config.push("-c", `credential.helper=!f() { test "$1" = get && cat ${quote(file)}; }; f`);
    }
    const git = (args: string[]) =>
      new Promise<string>((resolve, reject) => {
        execFile(
          "git",
          [...config, ...args],
          {
            env,
            cwd: dir,
            timeout: GIT_TIMEOUT_MS,
            maxBuffer: 4 * 1024 * 1024,
            killSignal: "SIGKILL",
            encoding: "utf8",
            signal,
          },
          (err, stdout, stderr) => (err ? reject(Object.assign(err, { stderr: String(stderr) })) : resolve(stdout)),
        );
      });
    await git(["init", "--quiet", "--bare", dir]);
    try {
      await git(["fetch", "--quiet", "--depth=1", "--no-tags", "--", repoUrl, commit]);
    } catch (err) {
      if (signal.aborted) throw err;
      // A server that does not serve unadvertised commits by id: fetch its branches and find the commit there.
      await git(["fetch", "--quiet", "--no-tags", "--", repoUrl, "+refs/heads/*:refs/remotes/origin/*"]).catch(
        (e: unknown) => {
          const stderr = String((e as { stderr?: unknown }).stderr ?? "");
          throw new BuildError(
            /Authentication failed|Permission denied|could not read Username|40[13]/.test(stderr)
              ? "GIT_AUTH_FAILED"
              : "GIT_FETCH_FAILED",
            `the repository could not be fetched: ${stderr.trim().split("\n").slice(-1)[0] ?? "git failed"}`,
          );
        },
      );
    }
    const found = (await git(["cat-file", "-t", commit]).catch(() => "")).trim();
    if (found !== "commit") throw new BuildError("GIT_FETCH_FAILED", `commit ${commit} is not in the repository`);
    const object = (context: string) => (context === "" ? `${commit}^{tree}` : `${commit}:${context}`);
    return {
      archive(context, archiveSignal) {
        const child = spawn("git", [...config, "archive", "--format=tar", object(context)], {
          env,
          cwd: dir,
          stdio: ["ignore", "pipe", "ignore"],
          signal: archiveSignal,
        });
        child.on("error", () => undefined);
        return child.stdout;
      },
      async treeId(context) {
        const id = (await git(["rev-parse", "--verify", "--end-of-options", object(context)]).catch(() => "")).trim();
        if (!/^[0-9a-f]{40,64}$/.test(id)) {
          throw new BuildError(
            "BUILD_CONTEXT_MISSING",
            `the build context "${context || "."}" is not a directory at ${commit}`,
          );
        }
        return id;
      },
      async close() {
        await rm(dir, { recursive: true, force: true });
        await rm(idDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    await rm(idDir, { recursive: true, force: true });
    if (err instanceof BuildError || signal.aborted) throw err;
    const stderr = String((err as { stderr?: unknown }).stderr ?? "");
    throw new BuildError(
      "GIT_FETCH_FAILED",
      `the repository could not be fetched: ${stderr.trim().split("\n").slice(-1)[0] ?? "git failed"}`,
    );
  }
}
