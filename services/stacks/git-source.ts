/**
 * A compose file from a git repository, frozen at a commit: the ref is resolved to a commit once and the file
 * content at that commit becomes the release. Uses the real `git` with argument arrays (never a shell), in a
 * temporary repository, with the transports restricted by git itself (`protocol.allow`) as well as here.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConflictError, PayloadTooLargeError, UnprocessableError } from "../_shared/errors.js";
import { MANIFEST_FILE_NAME, MANIFEST_MAX_BYTES, parseManifest } from "./manifest.js";

export type GitScheme = "https" | "ssh" | "http" | "file";

export interface GitSourceInput {
  repoUrl: string;
  ref: string;
  /** Path of the compose file inside the repository. */
  path: string;
}

export interface GitSourceOptions {
  maxBytes: number;
  /** For the whole resolution, all git commands together. */
  timeoutMs: number;
  /** `file` only for tests: it reads the control plane's own filesystem. */
  allowedSchemes: readonly GitScheme[];
  /** The git binary; `git` from PATH by default. */
  gitBinary?: string;
  /** How git reaches the host: the address it is pinned to and the credential it uses. */
  connection?: GitConnection;
}

/**
 * The isolated identity of one git run. Without it git runs with no credential at all (public https, file://).
 * Every secret is written to a 0600 file in a private temp dir removed afterwards; none is ever in argv or a URL.
 */
export interface GitConnection {
  /** The address checked by the SSRF guard (host-guard.ts): git connects there and nowhere else. */
  address?: string;
  ssh?: {
    /** OpenSSH private key file content. */
    privateKey: string;
    /** The credential's managed known_hosts content. */
    knownHosts: string;
    /** The known_hosts name the host key is looked up under (`host` or `[host]:port`). */
    hostKeyAlias: string;
  };
  https?: { username: string; token: string };
}

/** Where a repository URL points: what the SSRF guard checks and the address pinning rewrites. */
export interface RepoLocation {
  host: string;
  port: number;
}

export interface GitSourceResult {
  /** The compose file's text. */
  content: string;
  /** The release manifest (stackyard.yaml) beside it, or null when there is none. */
  manifestYaml: string | null;
  commit: string;
  /** `<repoUrl>@<commit>:<path>`, stored as the release's source_ref. */
  sourceRef: string;
  /**
   * The git tree id of the compose file's directory at the commit (the root tree for a file at the root): it
   * changes exactly when a file under it changes (compose, manifest, referenced files), so auto-sync compares it.
   */
  watchedTreeId: string;
}

export const DEFAULT_GIT_TIMEOUT_MS = 30_000;
export const DEFAULT_GIT_SCHEMES: readonly GitScheme[] = ["https", "ssh"];
const MAX_REF_LISTING_BYTES = 32 * 1024 * 1024;
const COMMIT_PATTERN = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

export type GitSourceErrorCode =
  | "GIT_URL_INVALID"
  | "GIT_SCHEME_NOT_ALLOWED"
  | "GIT_REF_INVALID"
  | "GIT_PATH_INVALID"
  | "GIT_REF_NOT_FOUND"
  | "GIT_PATH_NOT_FOUND"
  | "GIT_REPOSITORY_UNAVAILABLE"
  | "GIT_AUTH_FAILED"
  | "GIT_TIMEOUT";

export class GitSourceError extends UnprocessableError {
  constructor(code: GitSourceErrorCode, message: string, details?: Record<string, unknown>, cause?: unknown) {
    super(code, message, details);
    if (cause !== undefined) (this as { cause?: unknown }).cause = cause;
  }
}

/** The server's host key is not the one the credential trusts: possibly a man in the middle. */
export class GitHostKeyMismatchError extends ConflictError {
  constructor(host: string) {
    super(
      "GIT_HOST_KEY_MISMATCH",
      `the SSH host key of ${host} does not match the one trusted for this credential; if the server's key really changed, trust the new key on the credential`,
      { host },
    );
  }
}

export async function resolveGitSource(input: GitSourceInput, options: GitSourceOptions): Promise<GitSourceResult> {
  const scheme = checkRepoUrl(input.repoUrl, options.allowedSchemes);
  checkRef(input.ref);
  const path = checkPath(input.path);
  const dir = await mkdtemp(join(tmpdir(), "stackyard-git-"));
  // The identity lives apart from the repository (GIT_DIR), so nothing git writes can overwrite it.
  const identityDir = await mkdtemp(join(tmpdir(), "stackyard-git-id-"));
  try {
    const identity = await writeIdentity(identityDir, options.connection, input.repoUrl, scheme);
    const git = gitRunner(dir, scheme, options, identity);
    const fetchUrl = pinnedUrl(input.repoUrl, scheme, options.connection?.address);
    await git(["init", "--quiet", "--bare", dir]);
    const commit = await fetchCommit(git, fetchUrl, input.ref, options.connection?.ssh?.hostKeyAlias);
    const read = (file: string, maxBytes: number) => readBlob(git, commit, file, maxBytes);
    // The path may name the compose file (a stackyard.yaml beside it is the manifest) or the manifest itself
    // (its `compose` names the compose file, relative to it; compose.yaml when it does not).
    const manifestDir = path.includes("/") ? path.slice(0, path.lastIndexOf("/") + 1) : "";
    let content: string;
    let manifestYaml: string | null;
    if (path.slice(manifestDir.length) === MANIFEST_FILE_NAME) {
      manifestYaml = (await read(path, MANIFEST_MAX_BYTES))!;
      const composePath = checkPath(manifestDir + (parseManifest(manifestYaml, null).compose ?? "compose.yaml"));
      content = await requireBlob(read, composePath, options.maxBytes, commit);
    } else {
      content = await requireBlob(read, path, options.maxBytes, commit);
      manifestYaml = await read(manifestDir + MANIFEST_FILE_NAME, MANIFEST_MAX_BYTES);
    }
    const watchedDir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
    const tree = (await git(["rev-parse", "--verify", "--end-of-options", `${commit}:${watchedDir}`])).trim();
    if (!COMMIT_PATTERN.test(tree)) throw new Error("git rev-parse returned an unexpected tree id");
    return { content, manifestYaml, commit, sourceRef: `${input.repoUrl}@${commit}:${path}`, watchedTreeId: tree };
  } finally {
    await rm(dir, { recursive: true, force: true });
    await rm(identityDir, { recursive: true, force: true });
  }
}

/** A file's exact bytes at the commit, or null when there is no such file; over `maxBytes` is refused. */
async function readBlob(git: Git, commit: string, path: string, maxBytes: number): Promise<string | null> {
  const object = `${commit}:${path}`;
  const type = await git(["cat-file", "-t", object]).catch((err: unknown) => {
    if (err instanceof GitCommandError) return null;
    throw err;
  });
  if (type === null) return null;
  if (type.trim() !== "blob") {
    throw new GitSourceError("GIT_PATH_NOT_FOUND", `"${path}" is not a file at ${commit}`, { path, commit });
  }
  const size = Number((await git(["cat-file", "-s", object])).trim());
  if (size > maxBytes) {
    const code = path.endsWith(MANIFEST_FILE_NAME) ? "MANIFEST_TOO_LARGE" : "COMPOSE_TOO_LARGE";
    throw new PayloadTooLargeError(code, `"${path}" is ${size} bytes; the limit is ${maxBytes}`, { size, maxBytes });
  }
  // cat-file gives the blob's exact bytes (`git show` may apply textconv filters).
  return git(["cat-file", "blob", object], maxBytes + 1);
}

async function requireBlob(
  read: (file: string, maxBytes: number) => Promise<string | null>,
  path: string,
  maxBytes: number,
  commit: string,
): Promise<string> {
  const content = await read(path, maxBytes);
  if (content === null) {
    throw new GitSourceError("GIT_PATH_NOT_FOUND", `"${path}" does not exist at ${commit}`, { path, commit });
  }
  return content;
}

/** The host and port of a network URL (ssh://, scp-like, https://, http://). */
export function repoLocation(repoUrl: string, scheme: GitScheme): RepoLocation {
  const scp = /^[A-Za-z0-9._-]+@([A-Za-z0-9][A-Za-z0-9.-]*):/.exec(repoUrl);
  if (scheme === "ssh" && scp && !repoUrl.startsWith("ssh://")) return { host: (scp[1] ?? "").toLowerCase(), port: 22 };
  const url = new URL(repoUrl);
  const defaults: Record<string, number> = { "ssh:": 22, "https:": 443, "http:": 80 };
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  return { host, port: url.port === "" ? (defaults[url.protocol] ?? 0) : Number(url.port) };
}

/** ssh URLs are rewritten to the checked address (the host key is still checked under the host's name). */
function pinnedUrl(repoUrl: string, scheme: GitScheme, address: string | undefined): string {
  if (address === undefined || scheme !== "ssh") return repoUrl;
  const host = address.includes(":") ? `[${address}]` : address;
  const scp = /^([A-Za-z0-9._-]+@)[A-Za-z0-9][A-Za-z0-9.-]*:(.*)$/.exec(repoUrl);
  if (scp && !repoUrl.startsWith("ssh://")) return `${scp[1] ?? ""}${host}:${scp[2] ?? ""}`;
  const url = new URL(repoUrl);
  const user = url.username ? `${url.username}@` : "";
  return `ssh://${user}${host}${url.port ? `:${url.port}` : ""}${url.pathname}`;
}

interface Identity {
  /** Extra `-c` options (credential helper, pinned resolution). */
  config: string[];
  env: NodeJS.ProcessEnv;
}

/** Single-quoted for the shell git runs GIT_SSH_COMMAND and `!` helpers with. Paths and aliases are ours. */
function shellQuote(value: string): string {
  if (!/^[A-Za-z0-9_./:[\]@-]+$/.test(value)) throw new Error("refusing to shell-quote an unexpected value");
  return `'${value}'`;
}

async function writeIdentity(
  dir: string,
  connection: GitConnection | undefined,
  repoUrl: string,
  scheme: GitScheme,
): Promise<Identity> {
  const env: NodeJS.ProcessEnv = {};
  const config: string[] = [];
  const address = connection?.address;
  if (address !== undefined && (scheme === "https" || scheme === "http")) {
    // curl resolves the name to the checked address (TLS still verifies the name's certificate).
    const { host, port } = repoLocation(repoUrl, scheme);
    config.push("-c", `http.curloptResolve=${host}:${port}:${address.includes(":") ? `[${address}]` : address}`);
  }
  const ssh = connection?.ssh;
  const keyFile = join(dir, "id");
  const knownHostsFile = join(dir, "known_hosts");
  if (ssh) {
    await writeFile(keyFile, ssh.privateKey, { mode: 0o600 });
    await writeFile(knownHostsFile, ssh.knownHosts, { mode: 0o600 });
  }
  // Always the isolated ssh: no ~/.ssh of the control-plane user (ssh finds it through the passwd entry, not
  // HOME), no agent, no user or system ssh config, only this credential's key and host keys.
  env.GIT_SSH_COMMAND = [
    "ssh",
    "-F /dev/null",
    "-o BatchMode=yes",
    "-o IdentitiesOnly=yes",
    "-o IdentityAgent=none",
    `-o IdentityFile=${ssh ? shellQuote(keyFile) : "none"}`,
    "-o CertificateFile=none",
    `-o UserKnownHostsFile=${ssh ? shellQuote(knownHostsFile) : "/dev/null"}`,
    "-o GlobalKnownHostsFile=/dev/null",
    "-o StrictHostKeyChecking=yes",
    "-o UpdateHostKeys=no",
    ...(ssh ? [`-o HostKeyAlias=${shellQuote(ssh.hostKeyAlias)}`] : []),
    "-o ForwardAgent=no",
    "-o ForwardX11=no",
    "-o ClearAllForwardings=yes",
    "-o PermitLocalCommand=no",
    "-o ProxyCommand=none",
    "-o ControlMaster=no",
    "-o ControlPath=none",
    "-o PreferredAuthentications=publickey",
    "-o PasswordAuthentication=no",
    "-o KbdInteractiveAuthentication=no",
    "-o ConnectTimeout=10",
  ].join(" ");
  env.GIT_SSH_VARIANT = "ssh";
  const https = connection?.https;
  if (https) {
    const credentialFile = join(dir, "credential");
    await writeFile(credentialFile, `username=${https.username}\npassword=${https.token}\n`, { mode: 0o600 });
    // A one-shot helper that answers `get` from the 0600 file: the token never enters argv, a URL or the env.
    config.push("-c", `credential.helper=!f() { test "$1" = get && cat ${shellQuote(credentialFile)}; }; f`);
  }
  return { config, env };
}

type Git = (args: string[], maxBuffer?: number) => Promise<string>;

async function fetchCommit(git: Git, repoUrl: string, ref: string, sshHost: string | undefined): Promise<string> {
  const unavailable = (err: unknown): never => unavailableError(err, sshHost);
  // Listed even for a commit sha: it proves the repository is reachable, so a failed fetch of a sha below
  // means the commit is missing rather than the repository.
  const listing = await git(["ls-remote", "--", repoUrl], MAX_REF_LISTING_BYTES).catch(unavailable);
  let want: string;
  if (COMMIT_PATTERN.test(ref)) {
    want = ref;
  } else {
    const refName = pickRef(listing, ref);
    if (refName === undefined) {
      throw new GitSourceError("GIT_REF_NOT_FOUND", `no branch or tag "${ref}" in the repository`, { ref });
    }
    want = refName;
  }
  try {
    // Fetch by ref name (not by the listed sha): a server need not serve unadvertised objects, and the ref may
    // have moved since the listing; FETCH_HEAD is the commit actually received.
    await git(["fetch", "--quiet", "--depth=1", "--no-tags", "--", repoUrl, want]);
  } catch (err) {
    if (want === ref && err instanceof GitCommandError) {
      throw new GitSourceError("GIT_REF_NOT_FOUND", `no commit ${ref} in the repository`, { ref }, err);
    }
    return unavailable(err);
  }
  const commit = (await git(["rev-parse", "--verify", "--end-of-options", "FETCH_HEAD^{commit}"])).trim();
  if (!COMMIT_PATTERN.test(commit)) throw new Error(`git rev-parse returned an unexpected value`);
  return commit;
}

/** Exact ref names first, then a branch, then a tag: the order `git rev-parse` disambiguates in. */
function pickRef(listing: string, ref: string): string | undefined {
  const names = new Set(
    listing
      .split("\n")
      .map((line) => line.split("\t")[1])
      .filter((name): name is string => name !== undefined && !name.endsWith("^{}")),
  );
  const candidates = ref.startsWith("refs/") || ref === "HEAD" ? [ref] : [`refs/heads/${ref}`, `refs/tags/${ref}`];
  return candidates.find((c) => names.has(c));
}

function unavailableError(err: unknown, sshHost: string | undefined): never {
  if (err instanceof GitSourceError) throw err;
  if (err instanceof GitCommandError && /Host key verification failed/.test(err.stderr)) {
    throw new GitHostKeyMismatchError(sshHost ?? "the server");
  }
  if (
    err instanceof GitCommandError &&
    /Permission denied \(publickey|Authentication failed|could not read (?:Username|Password)|returned error: 40[13]/.test(
      err.stderr,
    )
  ) {
    throw new GitSourceError(
      "GIT_AUTH_FAILED",
      "the git server refused the credential: check that the deploy key or token has read access to the repository",
      {},
      err,
    );
  }
  if (err instanceof GitCommandError) {
    throw new GitSourceError(
      "GIT_REPOSITORY_UNAVAILABLE",
      "the repository could not be read: check the URL and that the control plane has access",
      {},
      err,
    );
  }
  throw err;
}

/** Failure of one git command. stderr stays in the error for logs and never reaches `details`. */
export class GitCommandError extends Error {
  constructor(
    readonly args: string[],
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(`git ${args[0] ?? ""} failed with exit code ${String(exitCode)}`);
    this.name = "GitCommandError";
  }
}

function gitRunner(dir: string, scheme: GitScheme, options: GitSourceOptions, identity: Identity): Git {
  const deadline = Date.now() + options.timeoutMs;
  const allowed = new Set<string>(options.allowedSchemes);
  // Git's own transport policy: everything off except the schemes allowed here (and ext:: stays off).
  const protocolConfig = ["-c", "protocol.allow=never"];
  for (const s of ["https", "http", "ssh", "file"] as const) {
    if (allowed.has(s)) protocolConfig.push("-c", `protocol.${s}.allow=always`);
  }
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: dir,
    GIT_DIR: dir,
    GIT_TERMINAL_PROMPT: "0",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_PROTOCOL_FROM_USER: "0",
    GIT_ASKPASS: "/bin/false",
    SSH_ASKPASS: "/bin/false",
    LC_ALL: "C",
    ...identity.env,
  };
  // Redirects are not followed (not even to the same host): the checked address is the only one git talks to.
  const networkConfig = ["-c", "http.followRedirects=false", ...identity.config];
  return (args, maxBuffer = 1024 * 1024) =>
    new Promise<string>((resolve, reject) => {
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        reject(new GitSourceError("GIT_TIMEOUT", `git did not finish within ${options.timeoutMs} ms`));
        return;
      }
      execFile(
        options.gitBinary ?? "git",
        [...protocolConfig, "-c", "credential.helper=", "-c", "core.hooksPath=/dev/null", ...networkConfig, ...args],
        { env, cwd: dir, timeout: remaining, maxBuffer, killSignal: "SIGKILL", encoding: "utf8" },
        (err, stdout, stderr) => {
          if (!err) {
            resolve(stdout);
            return;
          }
          const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: unknown };
          if (e.killed) {
            reject(new GitSourceError("GIT_TIMEOUT", `git did not finish within ${options.timeoutMs} ms`));
          } else if (e.code === "ERR_CHILD_PROCESS_STDIO_MAXBUFFER") {
            reject(
              new PayloadTooLargeError("COMPOSE_TOO_LARGE", "the git output exceeds the size limit", {
                maxBytes: maxBuffer,
              }),
            );
          } else if (typeof e.code === "string") {
            reject(err); // spawn failure (git missing): an operator problem, not the user's
          } else {
            reject(new GitCommandError(args, typeof e.code === "number" ? e.code : null, String(stderr)));
          }
        },
      );
    });
}

/** Returns the scheme; rejects transport tricks (`ext::`), option injection, local paths and credentials. */
export function checkRepoUrl(repoUrl: string, allowedSchemes: readonly GitScheme[]): GitScheme {
  const invalid = (reason: string): never => {
    throw new GitSourceError("GIT_URL_INVALID", `invalid repository URL: ${reason}`);
  };
  if (repoUrl.length === 0 || repoUrl.length > 2048) invalid("must be 1-2048 characters");
  if (repoUrl.startsWith("-")) invalid("must not start with '-'");
  if (/[\s\p{Cc}]/u.test(repoUrl)) invalid("must not contain spaces or control characters");
  // Git reads `<transport>::<address>` before any '/', so an IPv6 literal after `scheme://` is no helper.
  if ((repoUrl.split("/")[0] ?? "").includes("::"))
    invalid("transport helper syntax (`<transport>::`) is not accepted");
  let scheme: GitScheme;
  const explicit = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(repoUrl);
  if (explicit) {
    const name = (explicit[1] ?? "").toLowerCase();
    if (name !== "https" && name !== "http" && name !== "ssh" && name !== "file") {
      throw new GitSourceError("GIT_SCHEME_NOT_ALLOWED", `the scheme "${name}" is not supported`, { scheme: name });
    }
    scheme = name;
    if (scheme !== "file") {
      let url: URL | undefined;
      try {
        url = new URL(repoUrl);
      } catch {
        invalid("not a URL");
      }
      if (!url || url.hostname === "" || url.hostname.startsWith("-")) invalid("needs a host name");
      // A token in the URL would be stored in the release's source_ref for everyone to read.
      if (url?.password) invalid("credentials in the URL are not accepted");
    }
  } else if (/^[A-Za-z0-9._-]+@[A-Za-z0-9][A-Za-z0-9.-]*:./.test(repoUrl)) {
    scheme = "ssh"; // scp-like user@host:path
  } else {
    return invalid("expected https://, ssh:// or user@host:path");
  }
  if (!allowedSchemes.includes(scheme)) {
    throw new GitSourceError("GIT_SCHEME_NOT_ALLOWED", `the scheme "${scheme}" is not allowed`, { scheme });
  }
  return scheme;
}

function checkRef(ref: string): void {
  // git check-ref-format's rules, plus no leading '-' so a ref is never read as an option.
  const ok =
    ref.length > 0 &&
    ref.length <= 255 &&
    !ref.startsWith("-") &&
    !ref.startsWith("/") &&
    !ref.endsWith("/") &&
    !ref.endsWith(".") &&
    !ref.endsWith(".lock") &&
    !ref.includes("..") &&
    !ref.includes("@{") &&
    !ref.includes("//") &&
    !/[\s\p{Cc}~^:?*[\\]/u.test(ref);
  if (!ok) throw new GitSourceError("GIT_REF_INVALID", "invalid git ref", { ref });
}

/** A relative path inside the repository, normalised (`./a/b.yml` → `a/b.yml`). */
function checkPath(path: string): string {
  const normalised = path.replace(/^(?:\.\/)+/, "");
  const segments = normalised.split("/");
  const ok =
    normalised.length > 0 &&
    normalised.length <= 1024 &&
    !normalised.startsWith("/") &&
    !normalised.startsWith("-") &&
    !/\p{Cc}/u.test(normalised) &&
    segments.every((s) => s !== "" && s !== "." && s !== "..");
  if (!ok) throw new GitSourceError("GIT_PATH_INVALID", "the path must be relative to the repository root", { path });
  return normalised;
}
