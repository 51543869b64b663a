import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { AppError } from "../../_shared/errors.js";
import { repoLocation } from "../git-source.js";
import { OrgFetchLimiter } from "./fetch-limiter.js";
import { blockedReason, checkGitHost, DEFAULT_GIT_HOST_POLICY, type Lookup } from "./host-guard.js";
import { knownHostName, parseKnownHosts, replaceHostKeys } from "./known-hosts.js";
import {
  generateEd25519KeyPair,
  openSshPrivateKey,
  openSshPublicKey,
  publicKeyBlob,
  sha256Fingerprint,
} from "./ssh-key.js";

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, "expected a rejection").to.be.instanceOf(AppError);
  return String((err as AppError).type);
}

describe("deploy keys in OpenSSH formats (checked with ssh-keygen)", () => {
  it("writes a private key file ssh-keygen reads back to the same public key and fingerprint", () => {
    const pair = generateEd25519KeyPair();
    const dir = mkdtempSync(join(tmpdir(), "stackyard-key-"));
    try {
      writeFileSync(join(dir, "id"), openSshPrivateKey(pair.seed, "c"), { mode: 0o600 });
      const derived = execFileSync("ssh-keygen", ["-y", "-f", join(dir, "id")], { encoding: "utf8" }).trim();
      expect(derived).to.equal(openSshPublicKey(pair.publicKey, "c"));
      const listed = execFileSync("ssh-keygen", ["-lf", join(dir, "id")], { encoding: "utf8" });
      expect(listed).to.include(sha256Fingerprint(publicKeyBlob(pair.publicKey)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("SSRF guard of git hosts", () => {
  const lookupOf =
    (...addresses: string[]): Lookup =>
    () =>
      Promise.resolve(addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 })));

  for (const [address, reason] of [
    ["127.0.0.1", "loopback"],
    ["127.1.2.3", "loopback"],
    ["::1", "loopback"],
    ["::ffff:127.0.0.1", "loopback"],
    ["169.254.169.254", "cloud metadata"],
    ["fd00:ec2::254", "cloud metadata"],
    ["169.254.10.1", "link-local"],
    ["fe80::1", "link-local"],
    ["0.0.0.0", "unspecified"],
    ["10.0.0.5", "private network"],
    ["172.20.1.1", "private network"],
    ["192.168.1.1", "private network"],
    ["100.64.0.1", "shared address space (CGNAT)"],
    ["fd12::1", "unique local network"],
  ] as const) {
    it(`refuses ${address} (${reason})`, () => expect(blockedReason(address, true)).to.equal(reason));
  }

  it("lets public addresses through, and private ones when private blocking is off", () => {
    expect(blockedReason("140.82.121.4", true)).to.equal(undefined);
    expect(blockedReason("2606:50c0:8000::153", true)).to.equal(undefined);
    expect(blockedReason("10.0.0.5", false)).to.equal(undefined);
    expect(blockedReason("127.0.0.1", false)).to.equal("loopback");
    expect(blockedReason("169.254.169.254", false)).to.equal("cloud metadata");
  });

  it("refuses a name when any of its addresses is refused, and returns the checked address otherwise", async () => {
    expect(
      await codeOf(checkGitHost("mixed.test", 443, DEFAULT_GIT_HOST_POLICY, lookupOf("140.82.121.4", "127.0.0.1"))),
    ).to.equal("GIT_HOST_FORBIDDEN");
    expect(await checkGitHost("github.test", 443, DEFAULT_GIT_HOST_POLICY, lookupOf("140.82.121.4"))).to.equal(
      "140.82.121.4",
    );
    expect(await codeOf(checkGitHost("nowhere.test", 443, DEFAULT_GIT_HOST_POLICY, lookupOf()))).to.equal(
      "GIT_HOST_UNRESOLVABLE",
    );
  });

  it("resolves names for real: localhost is loopback", async () => {
    expect(await codeOf(checkGitHost("localhost", 22, DEFAULT_GIT_HOST_POLICY))).to.equal("GIT_HOST_FORBIDDEN");
  });

  it("lets through exactly the test-only host:port pairs", async () => {
    const policy = { blockPrivateNetworks: true, testAllowedHosts: new Set(["127.0.0.1:2222"]) };
    expect(await checkGitHost("127.0.0.1", 2222, policy)).to.equal("127.0.0.1");
    expect(await codeOf(checkGitHost("127.0.0.1", 2223, policy))).to.equal("GIT_HOST_FORBIDDEN");
  });
});

describe("managed known_hosts", () => {
  const key = "AAAAC3NzaC1lZDI1NTE5AAAAIGq8B4s+4xYruLQp9ML8Vq3t4NOOHUFxYDTjs2d9UgR3";

  it("names hosts as OpenSSH does and parses pasted lines with or without a host", () => {
    expect(knownHostName("GitHub.com", 22)).to.equal("github.com");
    expect(knownHostName("127.0.0.1", 2222)).to.equal("[127.0.0.1]:2222");
    const [withHost] = parseKnownHosts(`github.com ssh-ed25519 ${key}\n`);
    expect(withHost).to.deep.include({ host: "github.com", keyType: "ssh-ed25519" });
    expect(withHost?.fingerprint).to.match(/^SHA256:[A-Za-z0-9+/]{43}$/);
    const [bare] = parseKnownHosts(`ssh-ed25519 ${key}`, "[h]:2");
    expect(bare?.host).to.equal("[h]:2");
  });

  for (const [name, text] of [
    ["a wildcard host", `*.example.com ssh-ed25519 ${key}`],
    ["a marker", `@cert-authority example.com ssh-ed25519 ${key}`],
    ["a hashed host", `|1|abc=|def= ssh-ed25519 ${key}`],
    ["an unknown key type", `example.com ssh-dss ${key}`],
    ["a key of another type than declared", `example.com ssh-rsa ${key}`],
    ["garbage", "example.com"],
  ] as const) {
    it(`refuses ${name} with KNOWN_HOSTS_INVALID`, () => {
      expect(() => parseKnownHosts(text))
        .to.throw(AppError)
        .with.property("type", "KNOWN_HOSTS_INVALID");
    });
  }

  it("replaces one host's keys and keeps the others", () => {
    const a = parseKnownHosts(`a ssh-ed25519 ${key}\nb ssh-ed25519 ${key}`);
    const next = replaceHostKeys(a, "a", []);
    expect(next.map((k) => k.host)).to.deep.equal(["b"]);
  });
});

describe("OrgFetchLimiter", () => {
  it("caps each org separately and gives slots back", async () => {
    const limiter = new OrgFetchLimiter(1);
    const release = limiter.acquire("org-a");
    expect(() => limiter.acquire("org-a"))
      .to.throw(AppError)
      .with.property("type", "GIT_FETCH_LIMIT");
    limiter.acquire("org-b")();
    release();
    release(); // idempotent
    expect(await limiter.run("org-a", () => Promise.resolve(7))).to.equal(7);
    await limiter.run("org-a", () => Promise.reject(new Error("x"))).catch(() => undefined);
    limiter.acquire("org-a")();
  });
});

describe("repoLocation (what the SSRF guard checks)", () => {
  for (const [url, scheme, host, port] of [
    ["git@GitHub.com:acme/app.git", "ssh", "github.com", 22],
    ["ssh://git@gitlab.example:2222/acme/app.git", "ssh", "gitlab.example", 2222],
    ["ssh://git@[2001:db8::1]/app.git", "ssh", "2001:db8::1", 22],
    ["https://github.com/acme/app.git", "https", "github.com", 443],
    ["https://[::1]:8443/app.git", "https", "::1", 8443],
    ["http://10.0.0.1/app.git", "http", "10.0.0.1", 80],
  ] as const) {
    it(`${url} → ${host}:${port}`, () => expect(repoLocation(url, scheme)).to.deep.equal({ host, port }));
  }
});
