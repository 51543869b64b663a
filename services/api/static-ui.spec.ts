import { expect } from "chai";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createStaticUiMiddleware } from "./static-ui.js";

describe("serving the web UI from the gateway", () => {
  let dir: string;
  let server: Server;
  let base: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "stackyard-ui-"));
    await mkdir(join(dir, "assets"));
    await writeFile(join(dir, "index.html"), "<!doctype html><title>Stackyard</title>");
    await writeFile(join(dir, "assets", "app-1234.js"), "console.log(1)");
    const ui = createStaticUiMiddleware(dir)!;
    server = createServer((req, res) =>
      ui(req, res, () => {
        res.writeHead(418).end("api");
      }),
    );
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("serves hashed assets with a long cache", async () => {
    const res = await fetch(`${base}/assets/app-1234.js`);
    expect(res.status).to.equal(200);
    expect(res.headers.get("content-type")).to.match(/javascript/);
    expect(res.headers.get("cache-control")).to.include("immutable");
  });

  it("answers client routes with index.html, uncached", async () => {
    const res = await fetch(`${base}/clusters/123`);
    expect(res.status).to.equal(200);
    expect(await res.text()).to.include("<title>Stackyard</title>");
    expect(res.headers.get("cache-control")).to.equal("no-cache");
  });

  it("forbids inline script, foreign origins and framing; no HSTS over plain http", async () => {
    const res = await fetch(`${base}/clusters/123`);
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).to.include("script-src 'self'").and.include("frame-ancestors 'none'").and.include("object-src 'none'");
    expect(csp).to.not.include("unsafe-inline");
    expect(res.headers.get("x-frame-options")).to.equal("DENY");
    expect(res.headers.get("x-content-type-options")).to.equal("nosniff");
    expect(res.headers.get("strict-transport-security")).to.equal(null);
    const js = await fetch(`${base}/assets/app-1234.js`);
    expect(js.headers.get("content-security-policy")).to.equal(csp);
  });

  it("sends HSTS when the UI's public URL is https", async () => {
    const ui = createStaticUiMiddleware(dir, { https: true })!;
    const tls = createServer((req, res) => ui(req, res, () => res.writeHead(418).end()));
    await new Promise<void>((r) => tls.listen(0, "127.0.0.1", r));
    try {
      const res = await fetch(`http://127.0.0.1:${(tls.address() as AddressInfo).port}/`);
      expect(res.headers.get("strict-transport-security")).to.match(/^max-age=31536000/);
    } finally {
      tls.close();
    }
  });

  it("leaves API paths and non-GET requests to the API", async () => {
    for (const path of ["/v1/auth/me", "/healthz", "/readyz", "/openapi.yaml"]) {
      expect((await fetch(base + path)).status, path).to.equal(418);
    }
    expect((await fetch(`${base}/clusters`, { method: "POST" })).status).to.equal(418);
  });

  it("404s a missing asset and never leaves the build folder", async () => {
    expect((await fetch(`${base}/assets/nope.js`)).status).to.equal(404);
    const traversal = await fetch(`${base}/%2e%2e/%2e%2e/etc/passwd`);
    expect(await traversal.text()).to.not.include("root:");
  });

  it("is disabled when the folder holds no build", () => {
    expect(createStaticUiMiddleware(join(dir, "missing"))).to.equal(null);
  });
});
