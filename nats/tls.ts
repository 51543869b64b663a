/**
 * The local TLS material of our nats-server: a CA made once per state directory and a server certificate it
 * signs (client, websocket and leafnode listeners). Made with Debian's `openssl` CLI (argument arrays, no shell).
 * The CA's key never leaves the state directory; its certificate is what clients and agents pin.
 */
import { execFile } from "node:child_process";
import { X509Certificate, randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export const OPENSSL_BINARY = "openssl";
/** Names every local client and container uses: loopback, and the compose service name. */
export const DEFAULT_SERVER_HOSTS = ["127.0.0.1", "localhost", "nats"] as const;
export const CA_VALIDITY_DAYS = 3650;
/** Below the 825-day ceiling that clients enforce for server certificates. */
export const SERVER_CERT_VALIDITY_DAYS = 825;

export interface NatsTlsFiles {
  dir: string;
  caFile: string;
  caKeyFile: string;
  certFile: string;
  keyFile: string;
  /** The SANs the current server certificate was made for, so a changed host list re-issues it. */
  hostsFile: string;
}

export const natsTlsFiles = (natsDir: string): NatsTlsFiles => {
  const dir = join(natsDir, "tls");
  return {
    dir,
    caFile: join(dir, "ca.pem"),
    caKeyFile: join(dir, "ca.key"),
    certFile: join(dir, "server.pem"),
    keyFile: join(dir, "server.key"),
    hostsFile: join(dir, "server.hosts"),
  };
};

export class NatsTlsError extends Error {
  override name = "NatsTlsError";
  constructor(
    readonly code: "TLS_OPENSSL_MISSING" | "TLS_OPENSSL_FAILED",
    message: string,
    readonly stderr: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run(OPENSSL_BINARY, args);
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === "ENOENT") {
      throw new NatsTlsError("TLS_OPENSSL_MISSING", "the openssl CLI is missing (apt-get install openssl)", "", {
        cause: err,
      });
    }
    const stderr = e.stderr?.trim() ?? "";
    throw new NatsTlsError("TLS_OPENSSL_FAILED", `openssl ${args[0] ?? ""} failed: ${stderr}`, stderr, { cause: err });
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await readFile(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
}

/** A server certificate this close to its end is issued again at the next start. */
export const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000;

/** TLS client auth (EKU 1.3.6.1.5.5.7.3.2): a cluster route dials its peers with the same certificate. */
const CLIENT_AUTH_OID = "1.3.6.1.5.5.7.3.2";

async function lacksClientAuth(certFile: string): Promise<boolean> {
  const cert = new X509Certificate(await readFile(certFile));
  return !(cert.keyUsage ?? []).includes(CLIENT_AUTH_OID);
}

async function expiresWithin(certFile: string, ms: number): Promise<boolean> {
  const cert = new X509Certificate(await readFile(certFile));
  return new Date(cert.validTo).getTime() - Date.now() < ms;
}

const isIp = (host: string): boolean => /^[0-9.]+$/.test(host) || host.includes(":");
const subjectAltName = (hosts: readonly string[]): string =>
  hosts.map((h) => (isIp(h) ? `IP:${h}` : `DNS:${h}`)).join(",");

/**
 * Makes the CA once, and the server certificate whenever it is missing or was made for other hosts. Idempotent:
 * a restart keeps both, so pinned agents keep trusting the server.
 */
export async function ensureNatsTls(
  natsDir: string,
  hosts: readonly string[] = DEFAULT_SERVER_HOSTS,
): Promise<NatsTlsFiles> {
  const files = natsTlsFiles(natsDir);
  await mkdir(files.dir, { recursive: true, mode: 0o700 });
  await chmod(files.dir, 0o700);
  if (!(await exists(files.caFile)) || !(await exists(files.caKeyFile))) {
    await openssl([
      "req",
      "-x509",
      "-new",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      files.caKeyFile,
      "-out",
      files.caFile,
      "-days",
      String(CA_VALIDITY_DAYS),
      "-subj",
      "/O=Stackyard/CN=Stackyard local NATS CA",
      "-addext",
      "basicConstraints=critical,CA:TRUE,pathlen:0",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    await rm(files.certFile, { force: true });
  }
  const wanted = [...new Set(hosts)].join(",");
  const current = (await exists(files.hostsFile)) ? (await readFile(files.hostsFile, "utf8")).trim() : "";
  if (
    current !== wanted ||
    !(await exists(files.certFile)) ||
    !(await exists(files.keyFile)) ||
    (await expiresWithin(files.certFile, RENEW_BEFORE_MS)) ||
    (await lacksClientAuth(files.certFile))
  ) {
    const csr = join(files.dir, "server.csr");
    const ext = join(files.dir, "server.ext");
    await writeFile(
      ext,
      [
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature",
        "extendedKeyUsage=serverAuth,clientAuth",
        `subjectAltName=${subjectAltName(wanted.split(","))}`,
        "",
      ].join("\n"),
      { mode: 0o600 },
    );
    await openssl([
      "req",
      "-new",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      files.keyFile,
      "-out",
      csr,
      "-subj",
      "/O=Stackyard/CN=nats",
    ]);
    await openssl([
      "x509",
      "-req",
      "-in",
      csr,
      "-CA",
      files.caFile,
      "-CAkey",
      files.caKeyFile,
      "-set_serial",
      `0x01${randomBytes(15).toString("hex")}`,
      "-days",
      String(SERVER_CERT_VALIDITY_DAYS),
      "-extfile",
      ext,
      "-out",
      files.certFile,
    ]);
    await rm(csr, { force: true });
    await rm(ext, { force: true });
    await writeFile(files.hostsFile, `${wanted}\n`, { mode: 0o600 });
  }
  for (const f of [files.caKeyFile, files.keyFile]) await chmod(f, 0o600);
  // The CA certificate is public: agents get it at registration, tools read it.
  await chmod(files.caFile, 0o644);
  return files;
}
