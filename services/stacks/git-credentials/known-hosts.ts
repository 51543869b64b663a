/**
 * A credential's managed known_hosts: plain `<host> <key type> <base64 key>` lines, one host name per line (no
 * wildcards, markers or hashed names), so what the user sees is exactly what ssh trusts. Host keys come from the
 * user (pasted) or from `ssh-keyscan` at first use (trust on first use), shown with their SHA256 fingerprints.
 */
import { execFile } from "node:child_process";
import { UnprocessableError } from "../../_shared/errors.js";
import { sha256Fingerprint } from "./ssh-key.js";

export const HOST_KEY_TYPES = [
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "ssh-rsa",
] as const;
const MAX_KNOWN_HOSTS_LINES = 200;
const SCAN_TIMEOUT_SECONDS = 5;

export interface HostKey {
  /** `host` for port 22, `[host]:port` otherwise: the name ssh looks up (our HostKeyAlias). */
  host: string;
  keyType: string;
  key: string;
  fingerprint: string;
}

/** The known_hosts name of a host and port, as OpenSSH writes it. */
export function knownHostName(host: string, port: number): string {
  const bare = host.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  return port === 22 ? bare : `[${bare}]:${port}`;
}

export function formatKnownHosts(keys: readonly HostKey[]): string {
  return keys.map((k) => `${k.host} ${k.keyType} ${k.key}\n`).join("");
}

/** Parses lines; `hostOverride` replaces each line's host (pasted keys of one host, or ssh-keyscan's output). */
export function parseKnownHosts(text: string, hostOverride?: string): HostKey[] {
  const keys: HostKey[] = [];
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  if (lines.length > MAX_KNOWN_HOSTS_LINES) {
    throw new UnprocessableError("KNOWN_HOSTS_INVALID", `at most ${MAX_KNOWN_HOSTS_LINES} host keys`);
  }
  lines.forEach((line, index) => {
    const fields = line.split(/\s+/);
    // A pasted `<type> <key>` (no host) is accepted when the host is given separately.
    const [host, keyType, key] =
      hostOverride !== undefined && fields.length === 2 ? [hostOverride, ...fields] : fields.slice(0, 3);
    const where = `line ${index + 1}`;
    if (host === undefined || keyType === undefined || key === undefined) {
      throw new UnprocessableError("KNOWN_HOSTS_INVALID", `${where}: expected "<host> <key type> <base64 key>"`);
    }
    if (hostOverride === undefined && !/^(?:[a-z0-9.-]+|\[[a-z0-9.:-]+\]:\d{1,5})$/i.test(host)) {
      throw new UnprocessableError(
        "KNOWN_HOSTS_INVALID",
        `${where}: the host must be a plain name or [name]:port (no patterns, markers or hashed names)`,
      );
    }
    if (!(HOST_KEY_TYPES as readonly string[]).includes(keyType)) {
      throw new UnprocessableError("KNOWN_HOSTS_INVALID", `${where}: unsupported key type "${keyType}"`, {
        supported: HOST_KEY_TYPES,
      });
    }
    const blob = Buffer.from(key, "base64");
    const declaredType = blob.length > 4 ? blob.subarray(4, 4 + blob.readUInt32BE(0)).toString("latin1") : "";
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(key) || declaredType !== keyType) {
      throw new UnprocessableError("KNOWN_HOSTS_INVALID", `${where}: the key is not a valid ${keyType} public key`);
    }
    keys.push({ host: (hostOverride ?? host).toLowerCase(), keyType, key, fingerprint: sha256Fingerprint(blob) });
  });
  return keys;
}

/** The host's keys replace any earlier ones of the same host; other hosts stay. */
export function replaceHostKeys(existing: readonly HostKey[], host: string, keys: readonly HostKey[]): HostKey[] {
  return [...existing.filter((k) => k.host !== host), ...keys];
}

export class HostKeyScanError extends UnprocessableError {
  constructor(host: string) {
    super("GIT_HOST_KEY_SCAN_FAILED", `no SSH host key could be read from ${host}`, { host });
  }
}

/**
 * `ssh-keyscan` against the already-checked address (never the name: no second DNS answer), the keys filed
 * under the host's known_hosts name.
 */
export function scanHostKeys(address: string, port: number, host: string): Promise<HostKey[]> {
  return new Promise((resolve, reject) => {
    execFile(
      "ssh-keyscan",
      ["-T", String(SCAN_TIMEOUT_SECONDS), "-p", String(port), "-t", "ed25519,ecdsa,rsa", "--", address],
      { timeout: (SCAN_TIMEOUT_SECONDS + 5) * 1000, encoding: "utf8", env: { PATH: process.env.PATH, LC_ALL: "C" } },
      (err, stdout) => {
        const lines = String(stdout ?? "")
          .split("\n")
          .filter((l) => l.trim() !== "" && !l.startsWith("#"))
          .map((l) => l.split(/\s+/).slice(1, 3).join(" "));
        try {
          const keys = lines.flatMap((l) => parseKnownHosts(l, host));
          if (keys.length === 0)
            reject(err && (err as { code?: unknown }).code === "ENOENT" ? err : new HostKeyScanError(host));
          else resolve(keys);
        } catch {
          reject(new HostKeyScanError(host));
        }
      },
    );
  });
}
