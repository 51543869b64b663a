/**
 * /metrics against the real parts: the control plane (real Postgres and NATS, a scripted agent) serves it on its
 * own listener, a real Prometheus scrapes it with the bearer token, and the figures of two deployments (one
 * succeeded, one failed) come back through PromQL. promtool lints the exposition and checks the shipped alert rules.
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import type { DeployStack } from "../../nats/protocol/messages.js";
import type { Db } from "./db.js";
import { metricsRegistry } from "./metrics.js";
import { REPO_ROOT } from "./paths.js";
import { startFakeAgent, type FakeAgent } from "./testing/fake-agent.js";
import { createOrgWithAdmin, uniqueName, type TestOrg } from "./testing/fixtures.js";
import type { ContractClient } from "./testing/http.js";
import type { TestNatsServer } from "./testing/nats-server.js";
import type { TestPlatform } from "./testing/platform.js";
import { startTestPrometheus, type TestPrometheus } from "./testing/prometheus.js";
import { startTestStack, stopTestStack } from "./testing/stack.js";
import { until } from "./testing/wait.js";

const run = promisify(execFile);
const TOKEN = "metrics-test-token-0123456789abcdef";
const MONITORING = join(REPO_ROOT, "docs", "monitoring");

describe("metrics (real Prometheus scraping the control plane)", function () {
  this.timeout(120_000);
  let db: Db;
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let api: ContractClient;
  let org: TestOrg;
  let agent: FakeAgent;
  let prometheus: TestPrometheus | undefined;
  let metricsUrl: string;
  let envId: string;
  let releaseId: string;

  const deployAndWait = async (outcome: "succeeded" | "failed") => {
    const res = await api.request<{ id: string }>("POST", `/v1/environments/${envId}/deployments`, {
      body: { releaseId },
      headers: org.admin.auth,
    });
    expect(res.status).to.equal(202);
    const ended = outcome === "succeeded" ? "SUCCEEDED" : "FAILED";
    await until(`deployment ${ended}`, async () => {
      const d = await api.get<{ status: string }>(`/v1/deployments/${res.body.id}`, org.admin.auth);
      return d.body.status === ended ? true : undefined;
    });
  };

  before(async () => {
    ({ db, nats, platform, api } = await startTestStack({ METRICS_LISTEN: "127.0.0.1:0", METRICS_TOKEN: TOKEN }));
    metricsUrl = `http://127.0.0.1:${platform.metricsPort}/metrics`;
    org = await createOrgWithAdmin(api);
    agent = await startFakeAgent(api, nats.url, { orgId: org.orgId, auth: org.admin.auth }, "metrics");
    let nextOutcome: "succeeded" | "failed" = "succeeded";
    agent.handlers.set("DeployStack", (command) => {
      const p = command.payload as unknown as DeployStack;
      const outcome = nextOutcome;
      setTimeout(() => {
        void (async () => {
          await agent.emit(p.deploymentId, p.firstSeq, "Creating service app");
          await agent.emit(p.deploymentId, p.firstSeq + 1, outcome === "succeeded" ? "converged" : "task failed", {
            outcome,
          });
        })();
      }, 50);
      return { deploymentId: p.deploymentId, status: "started" };
    });
    const stack = await api.request<{ id: string }>("POST", `/v1/orgs/${org.orgId}/stacks`, {
      body: { name: uniqueName("metrics").replace(/[^a-z0-9-]/g, "") },
      headers: org.admin.auth,
    });
    const env = await api.request<{ id: string }>("POST", `/v1/stacks/${stack.body.id}/environments`, {
      body: { name: "prod", clusterId: agent.clusterId },
      headers: org.admin.auth,
    });
    envId = env.body.id;
    const release = await api.request<{ id: string }>("POST", `/v1/stacks/${stack.body.id}/releases`, {
      body: { sourceType: "upload", composeYaml: "services:\n  app:\n    image: nginx:1.27\n" },
      headers: org.admin.auth,
    });
    releaseId = release.body.id;
    // The heartbeat makes the cluster online; the gauge reads the database at scrape time.
    await deployAndWait("succeeded");
    nextOutcome = "failed";
    await deployAndWait("failed");
  });
  after(async () => {
    await prometheus?.stop();
    await agent?.close();
    await stopTestStack({ db, nats, platform });
  });

  it("serves /metrics only with the bearer token, and nothing else on its listener", async () => {
    expect((await fetch(metricsUrl)).status).to.equal(401);
    expect((await fetch(metricsUrl, { headers: { authorization: "Bearer wrong-token" } })).status).to.equal(401);
    expect((await fetch(metricsUrl.replace("/metrics", "/v1/orgs"))).status).to.equal(404);
    const ok = await fetch(metricsUrl, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).to.equal(200);
    expect(ok.headers.get("content-type")).to.match(/^text\/plain; version=0\.0\.4/);
  });

  it("passes promtool's exposition-format lint", async () => {
    const body = await (await fetch(metricsUrl, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    const lint = run("promtool", ["check", "metrics"]);
    lint.child.stdin!.end(body);
    // promtool exits 3 on lint problems and 1 when the text does not parse at all.
    const output = await lint.then(
      (r) => r.stdout + r.stderr,
      (err: { code: number; stdout: string; stderr: string }) => {
        if (err.code !== 3) throw new Error(`promtool could not parse /metrics:\n${err.stdout}${err.stderr}`);
        return err.stdout + err.stderr;
      },
    );
    const problems = output.split("\n").filter(Boolean);
    // prom-client's own Node.js gauges keep their historical `_total` names; every other name must be clean.
    const PROM_CLIENT_LEGACY = /^nodejs_active_(handles|requests|resources)_total non-counter metrics/;
    expect(problems.filter((line) => !PROM_CLIENT_LEGACY.test(line))).to.deep.equal([]);
  });

  it("shows the deployments' counts, durations, dispatch, clusters and requests through PromQL", async () => {
    prometheus = await startTestPrometheus([
      { job: "stackyard", address: new URL(metricsUrl).host, bearerToken: TOKEN },
    ]);
    const p = prometheus;
    const valueOf = async (expr: string) => (await p.query(expr))[0]?.value;
    await until("a successful scrape", async () => ((await valueOf('up{job="stackyard"}')) === 1 ? true : undefined));
    await until(
      "the deployment counters",
      async () => ((await valueOf('stackyard_deployments_finished_total{status="SUCCEEDED"}')) ? true : undefined),
      20_000,
    );
    expect(await valueOf('stackyard_deployments_finished_total{status="SUCCEEDED"}')).to.equal(1);
    expect(await valueOf('stackyard_deployments_finished_total{status="FAILED"}')).to.equal(1);
    expect(await valueOf('stackyard_deployment_duration_seconds_count{status="SUCCEEDED"}')).to.equal(1);
    const duration = await valueOf('stackyard_deployment_duration_seconds_sum{status="SUCCEEDED"}');
    expect(duration).to.be.greaterThan(0).and.lessThan(60);
    expect(await valueOf("stackyard_deployment_dispatch_seconds_count")).to.equal(2);
    expect(await valueOf('stackyard_deployment_converge_seconds_count{status="FAILED"}')).to.equal(1);
    expect(await valueOf("stackyard_agent_event_lines_total")).to.be.at.least(4);
    expect(await valueOf('stackyard_deployments_active{status="RUNNING"}')).to.equal(0);
    expect(await valueOf('stackyard_clusters{status="revoked"}')).to.equal(0);
    const known = await p.query("stackyard_clusters");
    expect(known.map((s) => s.metric.status).sort()).to.deep.equal(
      ["degraded", "link_down", "offline", "online", "pending", "revoked"].sort(),
    );
    const backlog = await p.query("stackyard_jetstream_consumer_pending_messages");
    expect(backlog.map((s) => s.metric.consumer).sort()).to.deep.equal(["deploy-workers", "deployment-event-writers"]);
    const deploys = await valueOf(
      'stackyard_http_request_duration_seconds_count{method="POST",route="/v1/environments/{envId}/deployments",status="202"}',
    );
    expect(deploys).to.equal(2);
    // Route templates, never raw ids: no label value holds a UUID.
    const routes = await p.query("count by (route) (stackyard_http_request_duration_seconds_count)");
    expect(routes.map((r) => r.metric.route).filter((r) => /[0-9a-f]{8}-[0-9a-f]{4}/.test(r ?? ""))).to.deep.equal([]);
    expect(await valueOf("stackyard_sse_streams_open")).to.equal(0);
  });

  it("counts refused logins by reason", async () => {
    // Read the number at once: prom-client hands out its live sample objects, which the next inc() changes.
    const badCredentials = async () =>
      (await metricsRegistry.getSingleMetric("stackyard_login_failures_total")?.get())?.values.find(
        (v) => v.labels.reason === "bad_credentials",
      )?.value ?? 0;
    const before = await badCredentials();
    const res = await api.request("POST", "/v1/auth/login", {
      body: { email: org.admin.email, password: "not the password" },
    });
    expect(res.status).to.equal(401);
    expect(await badCredentials()).to.equal(before + 1);
  });

  it("ships alert rules and a dashboard that promtool accepts and that read only exported metrics", async () => {
    await run("promtool", ["check", "rules", join(MONITORING, "alerts.yml")]);
    const tested = await run("promtool", ["test", "rules", join(MONITORING, "alerts.test.yml")]);
    expect(tested.stdout).to.include("SUCCESS");
    const exported = new Set(metricsRegistry.getMetricsAsArray().map((m) => m.name));
    const dashboard = await readFile(join(MONITORING, "grafana-dashboard.json"), "utf8");
    const rules = await readFile(join(MONITORING, "alerts.yml"), "utf8");
    const referenced = new Set(
      [...(dashboard + rules).matchAll(/\bstackyard_[a-z_]+/g)].map((m) => m[0].replace(/_(bucket|count|sum)$/, "")),
    );
    expect([...referenced].filter((name) => !exported.has(name))).to.deep.equal([]);
    expect(referenced.size).to.be.at.least(10);
  });
});
