import { expect } from "chai";
import { ConfigError, loadConfig, SERVICE_NAMES } from "./config.js";

const valid = {
  DATABASE_URL: "postgres://u:p@127.0.0.1:5432/db",
  NATS_URL: "nats://127.0.0.1:14222",
  NATS_CREDS: "/tmp/cp.creds",
  NATS_IDENTITY_FILE: "/tmp/identity.json",
  NATS_SYSTEM_CREDS: "/tmp/sys.creds",
  AUTH_JWT_KEYS: `k1:${Buffer.alloc(32, 7).toString("base64")}`,
  CONTROLPLANE_MASTER_KEY: `m1:${Buffer.alloc(32, 9).toString("base64")}`,
};

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error("expected a ConfigError");
}

describe("config", () => {
  it("applies defaults for everything optional", () => {
    const config = loadConfig(valid);
    expect(config.http).to.include({ host: "127.0.0.1", port: 8080, bodyLimitBytes: 1024 * 1024 });
    expect(config.http.webDistDir).to.match(/web\/dist$/);
    expect(config.services).to.deep.equal([
      "api",
      "auth",
      "audit",
      "clusters",
      "stacks",
      "deployments",
      "deploy-worker",
      "notifications",
      "alerts",
      "ingress",
    ]);
    expect(config.alerts).to.include({ evalIntervalMs: 10_000, smtp: null });
    expect(config.logLevel).to.equal("info");
    expect(config.deployments.secretVersionsKept).to.equal(3);
  });

  it("reads the alert SMTP relay, and wants a From address with it", () => {
    const smtp = loadConfig({ ...valid, ALERT_SMTP_HOST: "smtp.example.com", ALERT_SMTP_FROM: "a@example.com" }).alerts
      .smtp;
    expect(smtp).to.include({ host: "smtp.example.com", port: 587, secure: false, from: "a@example.com" });
    const problems = problemsOf({ ...valid, ALERT_SMTP_HOST: "smtp.example.com" });
    expect(problems.some((p) => p.startsWith("ALERT_SMTP_FROM is missing"))).to.equal(true);
  });

  it("reads SECRET_VERSIONS_KEPT within 1-50", () => {
    expect(loadConfig({ ...valid, SECRET_VERSIONS_KEPT: "5" }).deployments.secretVersionsKept).to.equal(5);
    for (const bad of ["0", "51", "two"]) {
      expect(problemsOf({ ...valid, SECRET_VERSIONS_KEPT: bad }).join("\n")).to.match(/SECRET_VERSIONS_KEPT/);
    }
  });

  it("reads METRICS_LISTEN as host:port or off, and wants METRICS_TOKEN beyond loopback", () => {
    expect(loadConfig(valid).metrics).to.equal(null);
    expect(loadConfig({ ...valid, METRICS_LISTEN: "off" }).metrics).to.equal(null);
    expect(loadConfig({ ...valid, METRICS_LISTEN: "127.0.0.1:9464" }).metrics).to.deep.equal({
      host: "127.0.0.1",
      port: 9464,
      token: undefined,
    });
    expect(loadConfig({ ...valid, METRICS_LISTEN: "[::1]:0" }).metrics).to.include({ host: "::1", port: 0 });
    const token = "t".repeat(24);
    expect(loadConfig({ ...valid, METRICS_LISTEN: "0.0.0.0:9464", METRICS_TOKEN: token }).metrics).to.deep.equal({
      host: "0.0.0.0",
      port: 9464,
      token,
    });
    expect(problemsOf({ ...valid, METRICS_LISTEN: "0.0.0.0:9464" }).join("\n")).to.match(/set METRICS_TOKEN/);
    expect(problemsOf({ ...valid, METRICS_LISTEN: "127.0.0.1:9464", METRICS_TOKEN: "short" }).join("\n")).to.match(
      /METRICS_TOKEN must be at least 24/,
    );
    for (const bad of ["9464", "127.0.0.1", "127.0.0.1:99999", "http://127.0.0.1:9464"]) {
      expect(problemsOf({ ...valid, METRICS_LISTEN: bad }).join("\n")).to.match(/METRICS_LISTEN must be host:port/);
    }
  });

  it("lists every missing variable in one error", () => {
    const problems = problemsOf({});
    expect(problems).to.have.length(7);
    expect(problems.join("\n"))
      .to.match(/DATABASE_URL is missing/)
      .and.match(/NATS_URL is missing/)
      .and.match(/NATS_CREDS is missing/)
      .and.match(/AUTH_JWT_KEYS is missing/);
  });

  it("reports malformed values together with missing ones", () => {
    const problems = problemsOf({
      DATABASE_URL: "mysql://x/y",
      NATS_URL: "not a url",
      HTTP_PORT: "99999",
      LOG_LEVEL: "loud",
      SERVICES: "api,billing",
    });
    expect(problems).to.have.length(10);
    expect(problems).to.include.members([
      "DATABASE_URL must use postgres: or postgresql: (got mysql:)",
      "NATS_URL is not a valid URL",
      'HTTP_PORT must be an integer between 0 and 65535 (got "99999")',
      'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace (got "loud")',
      "SERVICES has unknown entries billing (allowed: all, api, auth, audit, clusters, stacks, deployments, deploy-worker, notifications, alerts, ingress)",
    ]);
    expect(problems.some((p) => p.startsWith("NATS_CREDS is missing"))).to.equal(true);
  });

  it("trusts X-Forwarded-For only from the proxy CIDRs listed, and refuses the old trust-everyone switch", () => {
    expect(loadConfig(valid).auth.trustedProxies.empty).to.equal(true);
    const proxies = loadConfig({ ...valid, HTTP_TRUSTED_PROXIES: "10.0.0.0/8, 127.0.0.1/32" }).auth.trustedProxies;
    expect(proxies.has("10.20.30.40")).to.equal(true);
    expect(proxies.has("192.0.2.1")).to.equal(false);
    expect(problemsOf({ ...valid, HTTP_TRUSTED_PROXIES: "10.0.0.0/40" })).to.deep.equal([
      'HTTP_TRUSTED_PROXIES: "10.0.0.0/40" is not an IPv4 or IPv6 CIDR (e.g. 10.0.0.0/8)',
    ]);
    expect(problemsOf({ ...valid, HTTP_TRUST_PROXY: "true" })[0]).to.match(
      /HTTP_TRUST_PROXY is replaced by HTTP_TRUSTED_PROXIES/,
    );
  });

  it("accepts an explicit service subset and 'all'", () => {
    expect(loadConfig({ ...valid, SERVICES: "api" }).services).to.deep.equal(["api"]);
    expect(loadConfig({ ...valid, SERVICES: "all" }).services).to.deep.equal([...SERVICE_NAMES]);
    expect(loadConfig({ ...valid, SERVICES: "deploy-worker" }).services).to.deep.equal(["deploy-worker"]);
  });

  it("rejects short or duplicate JWT keys", () => {
    const short = Buffer.alloc(16).toString("base64");
    const good = Buffer.alloc(32).toString("base64");
    expect(problemsOf({ ...valid, AUTH_JWT_KEYS: `k1:${short}` })).to.deep.equal([
      'AUTH_JWT_KEYS: key "k1" must decode to at least 32 bytes',
    ]);
    expect(problemsOf({ ...valid, AUTH_JWT_KEYS: `k1:${good},k1:${good}` })).to.deep.equal([
      'AUTH_JWT_KEYS: key id "k1" appears twice',
    ]);
    expect(
      loadConfig({ ...valid, AUTH_JWT_KEYS: `new:${good},old:${good}` }).auth.jwtKeys.map((k) => k.kid),
    ).to.deep.equal(["new", "old"]);
  });

  it("the error message names each problem on its own line", () => {
    try {
      loadConfig({});
    } catch (err) {
      expect((err as Error).message).to.match(/^invalid configuration:\n {2}- /);
    }
  });
});
