import { expect } from "chai";
import { X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureNatsTls } from "./tls.js";

describe("local NATS TLS material (openssl)", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "stackyard-tls-"));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("makes a CA and a server certificate for loopback and the compose service, keys readable by the owner only", async () => {
    const files = await ensureNatsTls(dir);
    const ca = new X509Certificate(await readFile(files.caFile));
    const cert = new X509Certificate(await readFile(files.certFile));
    expect(ca.ca).to.equal(true);
    expect(cert.ca).to.equal(false);
    expect(cert.verify(ca.publicKey), "signed by the CA").to.equal(true);
    expect(cert.subjectAltName).to.include("IP Address:127.0.0.1").and.include("DNS:localhost").and.include("DNS:nats");
    for (const key of [files.caKeyFile, files.keyFile]) expect((await stat(key)).mode & 0o777).to.equal(0o600);
    expect((await stat(files.dir)).mode & 0o777).to.equal(0o700);
  });

  it("keeps both across runs, and re-issues only the server certificate when the hosts change", async () => {
    const first = await ensureNatsTls(dir);
    const ca = await readFile(first.caFile, "utf8");
    const cert = await readFile(first.certFile, "utf8");
    await ensureNatsTls(dir);
    expect(await readFile(first.caFile, "utf8")).to.equal(ca);
    expect(await readFile(first.certFile, "utf8")).to.equal(cert);
    await ensureNatsTls(dir, ["127.0.0.1", "localhost", "nats", "nats.example.com"]);
    expect(await readFile(first.caFile, "utf8"), "agents keep trusting the same CA").to.equal(ca);
    const reissued = new X509Certificate(await readFile(first.certFile));
    expect(reissued.subjectAltName).to.include("DNS:nats.example.com");
    expect(reissued.verify(new X509Certificate(ca).publicKey)).to.equal(true);
  });
});
