import { execFile } from "node:child_process";
import { expect } from "chai";
import { parse } from "yaml";
import { SWARM_REJECTED_SERVICE_KEYS, validateCompose } from "./compose-validation.js";
import { renderDesiredState } from "./render.js";

/** `docker stack config` runs the CLI's own loader (schema, forbidden keys, interpolation) without deploying. */
function dockerStackConfig(compose: string): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      "docker",
      ["stack", "config", "--compose-file", "-"],
      { timeout: 20_000, env: { PATH: process.env.PATH, HOME: process.env.HOME } },
      (err, stdout, stderr) => {
        if (err && typeof (err as NodeJS.ErrnoException).code === "string") reject(err);
        else resolve({ ok: !err, stdout, stderr });
      },
    );
    child.stdin?.end(compose);
  });
}

const SAMPLE_VALUES: Record<string, string> = {
  extends: "{ service: db }",
  volume_driver: "local",
  volumes_from: "[db]",
  cpu_quota: "2",
  cpu_shares: "2",
  cpus: "0.5",
  cpuset: "'0'",
  mem_limit: "64m",
  memswap_limit: "1g",
  mem_reservation: "1m",
  mem_swappiness: "1",
  oom_kill_disable: "true",
  pids_limit: "4",
  cpu_count: "1",
  cpu_percent: "1",
  cpu_period: "1",
  cpu_rt_period: "1",
  cpu_rt_runtime: "1",
  blkio_config: "{ weight: 10 }",
  device_cgroup_rules: "[a]",
  dns_opt: "[a]",
  group_add: "[a]",
  runtime: "runc",
  storage_opt: "{ size: 1G }",
  platform: "linux/amd64",
  profiles: "[a]",
  pull_policy: "always",
  scale: "2",
};

describe("rendered state against the real docker CLI", () => {
  it("is accepted by docker stack config and read back with the same values", async () => {
    const { yaml, document } = renderDesiredState({
      swarmStack: "shop-prod",
      ownership: { orgId: "org-1", environmentId: "env-1", releaseId: "rel-1", deploymentId: "dep-1" },
      releaseCompose: [
        "services:",
        "  web:",
        "    image: nginx:1.27",
        "    ports: ['8080:80', { target: 443, published: 8443, mode: host }]",
        "    environment: [MODE=release, PORT=80]",
        "    secrets: [{ source: tls, target: tls.key, mode: 0400 }]",
        "    deploy: { replicas: 2, resources: { limits: { cpus: '0.5', memory: 128M } } }",
        "  worker: { image: busybox, command: [sh, -c, 'echo $$HOME'] }",
        "secrets: { tls: { external: true } }",
      ].join("\n"),
      overlay: {
        envJson: { global: { PRICE: "5$", FLAG: "yes" } },
        composePatchYaml: "services:\n  web:\n    deploy: { replicas: 3 }\n",
      },
      secrets: [{ id: "row-1", name: "db_password", version: 7, contentDigest: "d".repeat(64), services: ["web"] }],
    });
    const result = await dockerStackConfig(yaml);
    expect(result.ok, result.stderr).to.equal(true);
    const seen = parse(result.stdout) as { services: Record<string, Record<string, unknown>>; secrets: unknown };
    const web = seen.services.web ?? {};
    expect(web.secrets).to.deep.include({ source: "tls", target: "tls.key", mode: 256 });
    expect(web.secrets).to.deep.include({ source: "db_password", target: "db_password" });
    expect(web.deploy).to.deep.include({ replicas: 3 });
    // The overlay's literal `$` survives the CLI's interpolation; YAML-1.1 words stay strings.
    expect(web.environment).to.deep.include({ PRICE: "5$", FLAG: "yes", MODE: "release" });
    const secretName = (document.secrets as Record<string, { name: string }>).db_password?.name;
    expect(secretName).to.match(/^shop-prod_db_password_[0-9a-f]{12}$/);
    expect(seen.secrets).to.deep.include({ db_password: { name: secretName, external: true } });
    // The ownership labels reach the service (deploy.labels) and the default network the CLI will create.
    expect((web.deploy as { labels?: unknown }).labels).to.deep.include({
      "io.stackyard.environment": "env-1",
      "io.stackyard.deployment": "dep-1",
    });
    expect((seen as { networks?: Record<string, { labels?: unknown }> }).networks?.default?.labels).to.deep.include({
      "io.stackyard.environment": "env-1",
    });
    expect(document.services).to.have.keys("web", "worker");
  });

  it("reads the numbers of a compose file as the CLI does", async () => {
    const compose =
      "services:\n  web:\n    image: busybox\n    deploy: { replicas: 010 }\n    labels: { a: 0o17, b: 1_000 }\n";
    const ours = validateCompose(compose, { maxBytes: 4096 }).document.services?.web;
    const theirs = (parse((await dockerStackConfig(compose)).stdout) as { services: Record<string, unknown> }).services
      .web as Record<string, unknown>;
    expect(ours?.deploy).to.deep.equal(theirs.deploy);
    expect(theirs.labels).to.deep.equal({ a: "15", b: "1000" });
    expect(ours?.labels).to.deep.equal({ a: 15, b: 1000 });
  });

  for (const key of Object.keys(SWARM_REJECTED_SERVICE_KEYS)) {
    it(`agrees with the CLI that "${key}" cannot be deployed`, async () => {
      const sample = SAMPLE_VALUES[key];
      expect(sample, `no sample value for ${key}`).to.be.a("string");
      const compose = `services:\n  db: { image: busybox }\n  web:\n    image: busybox\n    ${key}: ${sample}\n`;
      const result = await dockerStackConfig(compose);
      expect(result.ok, `docker stack config accepted ${key}`).to.equal(false);
      expect(() => validateCompose(compose, { maxBytes: 4096 }))
        .to.throw()
        .with.property("type", "COMPOSE_UNSUPPORTED_BY_SWARM");
    });
  }
});
