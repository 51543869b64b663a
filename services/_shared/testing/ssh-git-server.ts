/**
 * A real OpenSSH server for git tests: Debian's `openssh-server` (installed with apt when missing), started as a
 * separate `sshd` with its own config, host key, authorized_keys and log on a loopback port — the system's sshd
 * and /etc/ssh are never touched. Logins go to a dedicated account restricted to `git-shell`; LogLevel VERBOSE
 * records the fingerprint of every key offered, so a test can prove which keys a client used.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import {
  appendFileSync,
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:net";
import { freePort } from "./nats-server.js";

const SSHD = "/usr/sbin/sshd";
export const SSH_GIT_USER = "stackyard-git";

export interface SshGitServer {
  port: number;
  /** Absolute dir whose repositories the git user serves. */
  reposDir: string;
  /** `ssh://stackyard-git@127.0.0.1:<port><reposDir>/<name>` */
  urlOf(repoName: string): string;
  /** The server's host public key line (`ssh-ed25519 AAAA…`). */
  hostPublicKey: string;
  authorize(publicKeyLine: string): void;
  /** Copies a bare repository in, owned by the git user. */
  addRepo(name: string, bareRepoPath: string): void;
  log(): string;
  stop(): Promise<void>;
}

function ensureOpenSshServer(): void {
  if (existsSync(SSHD)) return;
  // apt may be locked by another job for a while: retry.
  for (let attempt = 0; ; attempt++) {
    try {
      execFileSync("apt-get", ["install", "-y", "--no-install-recommends", "openssh-server"], {
        stdio: "ignore",
        env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
        timeout: 300_000,
      });
      return;
    } catch (err) {
      if (attempt >= 20) throw new Error("could not install openssh-server with apt-get", { cause: err });
      execFileSync("sleep", ["10"]);
    }
  }
}

function ensureGitUser(): void {
  try {
    execFileSync("id", ["-u", SSH_GIT_USER], { stdio: "ignore" });
  } catch {
    execFileSync("useradd", [
      "--system",
      "--no-create-home",
      "--home-dir",
      "/nonexistent",
      "--shell",
      "/usr/bin/git-shell",
      SSH_GIT_USER,
    ]);
  }
  // sshd without PAM refuses an account whose password is locked ("!"); "*" means no password, not locked.
  execFileSync("usermod", ["-p", "*", SSH_GIT_USER]);
}

function waitForPort(port: number, child: ChildProcess, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      if (child.exitCode !== null) {
        reject(new Error(`sshd exited with code ${child.exitCode}`));
        return;
      }
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve();
      });
      socket.once("error", () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`sshd did not listen on ${port}`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

export async function startSshGitServer(): Promise<SshGitServer> {
  ensureOpenSshServer();
  ensureGitUser();
  const root = mkdtempSync(join(tmpdir(), "stackyard-sshd-"));
  // The git user must reach the repositories and its authorized_keys (public keys only) through this dir.
  chmodSync(root, 0o755);
  const reposDir = join(root, "repos");
  mkdirSync(reposDir, { mode: 0o755 });
  execFileSync("chown", [SSH_GIT_USER, reposDir]);
  const hostKey = join(root, "host_ed25519");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "test-host", "-f", hostKey]);
  const authorizedKeys = join(root, "authorized_keys");
  writeFileSync(authorizedKeys, "", { mode: 0o644 });
  const logFile = join(root, "sshd.log");
  const port = await freePort();
  const config = join(root, "sshd_config");
  writeFileSync(
    config,
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${hostKey}`,
      `PidFile ${join(root, "sshd.pid")}`,
      `AuthorizedKeysFile ${authorizedKeys}`,
      "StrictModes no",
      "UsePAM no",
      "PubkeyAuthentication yes",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PermitRootLogin no",
      `AllowUsers ${SSH_GIT_USER}`,
      "AllowAgentForwarding no",
      "AllowTcpForwarding no",
      "X11Forwarding no",
      "PermitTTY no",
      "LogLevel VERBOSE",
      "",
    ].join("\n"),
  );
  mkdirSync("/run/sshd", { recursive: true, mode: 0o755 }); // sshd's privilege-separation dir
  const child = spawn(SSHD, ["-D", "-f", config, "-E", logFile], { stdio: "ignore" });
  await waitForPort(port, child);
  return {
    port,
    reposDir,
    urlOf: (name) => `ssh://${SSH_GIT_USER}@127.0.0.1:${port}${join(reposDir, name)}`,
    hostPublicKey: readFileSync(`${hostKey}.pub`, "utf8").trim().split(" ").slice(0, 2).join(" "),
    authorize(line) {
      appendFileSync(authorizedKeys, `${line.trim()}\n`);
    },
    addRepo(name, bare) {
      const target = join(reposDir, name);
      execFileSync("cp", ["-a", bare, target]);
      execFileSync("chown", ["-R", SSH_GIT_USER, target]);
    },
    log: () => (existsSync(logFile) ? readFileSync(logFile, "utf8") : ""),
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
}
