/**
 * The managed ingress end to end on the real single-node Swarm (real control plane, real agent, real dockerd):
 * the cluster's nginx proxy (a stand-in built from Debian's package) published on free high ports, a route
 * `app.test` → a busybox httpd answering through it on loopback, host ownership refused across environments and
 * orgs, and a route change rolled out with zero failed requests in a loop of fresh connections during the reload.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { request as httpRequest } from "node:http";
import { createServer } from "node:net";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { connect as tlsConnect } from "node:tls";
import { join } from "node:path";
import { promisify } from "node:util";
import { REPO_ROOT } from "../../services/_shared/paths.js";
import { createOrgWithAdmin } from "../../services/_shared/testing/fixtures.js";
import { docker, TEST_IMAGE } from "../../services/_shared/testing/swarm.js";
import { startSwarmWorld, type SwarmWorld, type WorldEnvironment } from "../../services/_shared/testing/swarm-world.js";
import { until } from "../../services/_shared/testing/wait.js";

const run = promisify(execFile);
export const INGRESS_TEST_IMAGE = "stackyard/nginx:test";

/** A port nothing on this host listens on (the routing mesh publishes on every address). */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once("error", () => resolve(false));
      server.listen(port, "0.0.0.0", () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

export interface ProxyAnswer {
  status: number;
  body: string;
  revision: string | undefined;
}

/** One request on a fresh connection (no keep-alive), with the Host header a DNS name would give. */
export function viaProxy(port: number, host: string, path = "/"): Promise<ProxyAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: "127.0.0.1", port, path, headers: { host }, agent: false, timeout: 10_000 },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            body,
            revision: res.headers["x-stackyard-ingress-revision"] as string | undefined,
          }),
        );
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    req.end();
  });
}

const httpdCompose = `services:
  app:
    image: ${TEST_IMAGE}
    command: ["httpd", "-f", "-p", "8080", "-h", "/var/www"]
    stop_grace_period: 1s
    deploy:
      replicas: 1
      update_config: { monitor: 1s }
`;

describe("managed ingress (real agent, real control plane, real Swarm)", function () {
  this.timeout(180_000);
  const name = `h-ingress-${randomBytes(3).toString("hex")}`;
  let world: SwarmWorld;
  let env: WorldEnvironment;
  let httpPort: number;
  let httpsPort: number;

  const putRoutes = (envId: string, routes: unknown[], headers = world.auth()) =>
    world.api.request<{ routes: unknown[]; appliedConfigName: string; error?: { code: string } }>(
      "PUT",
      `/v1/environments/${envId}/routes`,
      { body: { routes }, headers },
    );
  const runningProxyTasks = async () =>
    (await docker("service", "ps", name, "--filter", "desired-state=running", "--format", "{{.CurrentState}}"))
      .split("\n")
      .filter((l) => l.startsWith("Running")).length;

  let pebbleDir: string;
  let pebblePort: number;
  const children: ChildProcess[] = [];

  before(async function () {
    this.timeout(300_000);
    await run("bash", [join(REPO_ROOT, "scripts/build-ingress-test-image.sh")], { timeout: 170_000 });
    httpPort = await freePort();
    httpsPort = await freePort();
    // pebble on loopback: its HTTPS under a throwaway CA, its DNS answering 127.0.0.1 for every name (challtestsrv).
    pebbleDir = await mkdtemp(join(tmpdir(), "h-ingress-pebble-"));
    pebblePort = await freePort();
    const dnsPort = await freePort();
    await run("openssl", [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "2",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      "-keyout",
      join(pebbleDir, "key.pem"),
      "-out",
      join(pebbleDir, "cert.pem"),
    ]);
    await writeFile(
      join(pebbleDir, "pebble.json"),
      JSON.stringify({
        pebble: {
          listenAddress: `127.0.0.1:${pebblePort}`,
          managementListenAddress: `127.0.0.1:${await freePort()}`,
          certificate: join(pebbleDir, "cert.pem"),
          privateKey: join(pebbleDir, "key.pem"),
          httpPort,
          tlsPort: httpsPort,
          ocspResponderURL: "",
          externalAccountBindingRequired: false,
        },
      }),
    );
    children.push(
      spawn(
        "pebble-challtestsrv",
        [
          "-defaultIPv4",
          "127.0.0.1",
          "-defaultIPv6",
          "",
          "-dns01",
          `127.0.0.1:${dnsPort}`,
          "-http01",
          "",
          "-https01",
          "",
          "-tlsalpn01",
          "",
          "-management",
          `127.0.0.1:${await freePort()}`,
        ],
        { stdio: "ignore" },
      ),
      spawn("pebble", ["-config", join(pebbleDir, "pebble.json"), "-dnsserver", `127.0.0.1:${dnsPort}`], {
        stdio: "ignore",
        env: { ...process.env, PEBBLE_VA_NOSLEEP: "1", PEBBLE_WFE_NONCEREJECT: "0" },
      }),
    );
    world = await startSwarmWorld({
      clusterName: "ingress-swarm",
      env: {
        STACKYARD_INGRESS_IMAGE: INGRESS_TEST_IMAGE,
        STACKYARD_ACME_CA_FILE: join(pebbleDir, "cert.pem"),
        // Longer than pebble's certificates live: every certificate is due, so a renewal replaces it at once.
        STACKYARD_ACME_RENEW_BEFORE_SECONDS: String(10 * 365 * 24 * 3600),
      },
    });
    const stackId = await world.createStack(`ing${randomBytes(3).toString("hex")}`);
    env = await world.createEnvironment(stackId, "prod");
  });
  after(async function () {
    this.timeout(120_000);
    await world?.stop();
    for (const child of children) child.kill();
    if (pebbleDir) await rm(pebbleDir, { recursive: true, force: true });
    await docker("service", "rm", name).catch(() => undefined);
    await until(
      "the proxy's tasks gone",
      async () =>
        (await docker("ps", "-q", "--filter", `label=com.docker.swarm.service.name=${name}`)) ? undefined : true,
      60_000,
    ).catch(() => undefined);
    for (const kind of ["config", "secret"] as const) {
      const names = (await docker(kind, "ls", "--format", "{{.Name}}").catch(() => ""))
        .split("\n")
        .filter((n) => n.startsWith(`${name}-`));
      for (const n of names) await docker(kind, "rm", n).catch(() => undefined);
    }
    await docker("network", "rm", name).catch(() => undefined);
  });

  it("refuses routes while the cluster has no ingress (409 INGRESS_NOT_ENABLED)", async () => {
    const res = await putRoutes(env.id, [{ host: "app.test", service: "app", port: 8080 }]);
    expect(res.status, JSON.stringify(res.body)).to.equal(409);
    expect(res.body.error?.code).to.equal("INGRESS_NOT_ENABLED");
  });

  it("runs the cluster's proxy on the configured image and ports, audited", async () => {
    const res = await world.api.request<{ image: string; appliedConfigName: string; httpPort: number }>(
      "PUT",
      `/v1/orgs/${world.org.orgId}/clusters/${world.clusterId}/ingress`,
      { body: { serviceName: name, networkName: name, httpPort, httpsPort }, headers: world.auth() },
    );
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body).to.include({ image: INGRESS_TEST_IMAGE, httpPort });
    expect(res.body.appliedConfigName).to.match(new RegExp(`^${name}-1-[0-9a-f]{12}$`));
    const spec = JSON.parse(await docker("service", "inspect", name, "--format", "{{json .Spec}}")) as {
      TaskTemplate: { ContainerSpec: { Configs: Array<{ ConfigName: string }> } };
      EndpointSpec: { Ports: Array<{ PublishedPort: number }> };
    };
    expect(spec.TaskTemplate.ContainerSpec.Configs.map((c) => c.ConfigName)).to.deep.equal([
      res.body.appliedConfigName,
    ]);
    expect(spec.EndpointSpec.Ports.map((p) => p.PublishedPort).sort()).to.deep.equal([httpPort, httpsPort].sort());
    const unknown = await until(
      "the proxy answering",
      () => viaProxy(httpPort, "nobody.test").catch(() => undefined),
      60_000,
    );
    expect(unknown.status).to.equal(404);
    const audit = await world.db("audit_events").where({ org_id: world.org.orgId, action: "ingress.configure" });
    expect(audit).to.have.length(1);
  });

  it("routes app.test to the environment's service through the proxy, and shows it in the diff", async () => {
    const res = await putRoutes(env.id, [{ host: "app.test", service: "app", port: 8080 }]);
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    const stackId = (await world.db("environments").where({ id: env.id }).first("stack_id")).stack_id as string;
    const release = await world.uploadRelease(stackId, httpdCompose);
    const diff = await world.api.get<{ unified: string }>(
      `/v1/environments/${env.id}/diff?to=${release}`,
      world.auth(),
    );
    expect(diff.status, JSON.stringify(diff.body)).to.equal(200);
    expect(diff.body.unified).to.contain("io.stackyard.ingress.routes").and.to.contain(name);
    await world.deploy(env, release);
    const answer = await until(
      "app.test answered by the service",
      async () => {
        const a = await viaProxy(httpPort, "app.test").catch(() => undefined);
        return a?.status === 200 ? a : undefined;
      },
      60_000,
    );
    expect(answer.body).to.contain("stackyard test image");
  });

  it("refuses a host another environment of the cluster routes, and one another org routes", async () => {
    const stackId = await world.createStack(`ing${randomBytes(3).toString("hex")}`);
    const other = await world.createEnvironment(stackId, "staging");
    const inUse = await putRoutes(other.id, [{ host: "app.test", service: "app", port: 8080 }]);
    expect(inUse.status, JSON.stringify(inUse.body)).to.equal(409);
    expect(inUse.body.error?.code).to.equal("INGRESS_HOST_IN_USE");

    const org = await createOrgWithAdmin(world.api);
    const cluster = await world.api.request<{ cluster: { id: string } }>("POST", `/v1/orgs/${org.orgId}/clusters`, {
      body: { name: "elsewhere" },
      headers: org.admin.auth,
    });
    const stack = await world.api.request<{ id: string }>("POST", `/v1/orgs/${org.orgId}/stacks`, {
      body: { name: `other${randomBytes(3).toString("hex")}` },
      headers: org.admin.auth,
    });
    const foreignEnv = await world.api.request<{ id: string }>("POST", `/v1/stacks/${stack.body.id}/environments`, {
      body: { name: "prod", clusterId: cluster.body.cluster.id },
      headers: org.admin.auth,
    });
    expect(foreignEnv.status, JSON.stringify(foreignEnv.body)).to.equal(201);
    const taken = await putRoutes(foreignEnv.body.id, [{ host: "app.test", service: "web", port: 80 }], org.admin.auth);
    expect(taken.status, JSON.stringify(taken.body)).to.equal(409);
    expect(taken.body.error?.code).to.equal("INGRESS_HOST_TAKEN");
  });

  it("rolls a route change out with zero failed requests in a loop during the reload", async () => {
    const before = await viaProxy(httpPort, "app.test");
    const oldRevision = before.revision;
    expect(oldRevision).to.be.a("string");
    let stop = false;
    const failures: string[] = [];
    const revisions = new Set<string>();
    let requests = 0;
    const loop = (async () => {
      while (!stop) {
        requests++;
        try {
          const a = await viaProxy(httpPort, "app.test");
          if (a.status !== 200) failures.push(`status ${a.status}`);
          if (a.revision) revisions.add(a.revision);
        } catch (err) {
          failures.push(String(err));
        }
      }
    })();
    const res = await putRoutes(env.id, [
      { host: "app.test", service: "app", port: 8080 },
      { host: "app.test", pathPrefix: "/v2", service: "app", port: 8080 },
    ]);
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    // Until the old task is gone (its nginx finished what it served) and the new configuration answers.
    await until(
      "one proxy task, serving the new configuration",
      async () => ((await runningProxyTasks()) === 1 && revisions.size >= 2 ? true : undefined),
      60_000,
    );
    await until(
      "the old task stopped",
      async () => {
        const tasks = await docker("ps", "-q", "--filter", `label=com.docker.swarm.service.name=${name}`);
        return tasks.split("\n").filter(Boolean).length === 1 ? true : undefined;
      },
      60_000,
    );
    stop = true;
    await loop;
    expect(failures, failures.slice(0, 5).join("; ")).to.deep.equal([]);
    expect([...revisions]).to.include(oldRevision);
    expect(requests).to.be.greaterThan(revisions.size);
  });

  it("serves a certificate issued by pebble over HTTP-01, and a renewal replaces it", async () => {
    const served = () =>
      new Promise<string>((resolve, reject) => {
        const socket = tlsConnect(
          { host: "127.0.0.1", port: httpsPort, servername: "app.test", rejectUnauthorized: false },
          () => {
            const serial = socket.getPeerCertificate().serialNumber;
            socket.end();
            resolve(serial);
          },
        );
        socket.on("error", reject);
      });
    const routes = await putRoutes(env.id, [{ host: "app.test", service: "app", port: 8080, tls: true }]);
    expect(routes.status, JSON.stringify(routes.body)).to.equal(200);
    const acme = await world.api.request("PUT", `/v1/orgs/${world.org.orgId}/clusters/${world.clusterId}/ingress`, {
      body: { acmeDirectoryUrl: `https://127.0.0.1:${pebblePort}/dir` },
      headers: world.auth(),
    });
    expect(acme.status, JSON.stringify(acme.body)).to.equal(200);
    const renew = () =>
      world.api.request<{ issued: Array<{ serial: string; notAfter: string }>; failed: unknown[] }>(
        "POST",
        `/v1/orgs/${world.org.orgId}/clusters/${world.clusterId}/certificates/renew`,
        { headers: world.auth() },
      );
    const first = await renew();
    expect(first.status, JSON.stringify(first.body)).to.equal(200);
    expect(first.body.failed, JSON.stringify(first.body.failed)).to.deep.equal([]);
    const issued = first.body.issued[0]!;
    expect((await served()).toLowerCase()).to.equal(issued.serial.toLowerCase());
    const second = await renew();
    expect(second.body.failed, JSON.stringify(second.body.failed)).to.deep.equal([]);
    const renewed = second.body.issued[0]!;
    expect(renewed.serial).not.to.equal(issued.serial);
    expect((await served()).toLowerCase()).to.equal(renewed.serial.toLowerCase());
    const list = await world.api.get<{ items: Array<{ serial: string; notAfter: string }> }>(
      `/v1/orgs/${world.org.orgId}/clusters/${world.clusterId}/certificates`,
      world.auth(),
    );
    expect(list.body.items.map((c) => c.serial)).to.deep.equal([renewed.serial]);
  });
});
