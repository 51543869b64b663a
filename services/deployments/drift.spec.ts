/** The drift comparison: compose normalised to Swarm's terms, and field-by-field against a live spec. */
import { expect } from "chai";
import { parse } from "yaml";
import type { LiveServiceSpec } from "../../nats/protocol/service-spec.js";
import { desiredServiceSpecs, durationNs, portsOf, shellSplit, sizeBytes } from "./desired-spec.js";
import { compareServiceSpec, imageMatches } from "./drift.js";

const desiredOf = (compose: string, stack = "shop") => desiredServiceSpecs(parse(compose), stack).app!;

/** What the agent reports for a service `docker stack deploy` made of `image: nginx:1.25` and nothing else. */
const bare = (over: Partial<LiveServiceSpec> = {}): LiveServiceSpec => ({
  image: "nginx:1.25@sha256:" + "a".repeat(64),
  entrypoint: null,
  command: null,
  env: [],
  labels: {},
  containerLabels: {},
  ports: [],
  secrets: [],
  configs: [],
  mounts: [],
  resources: { limitNanoCpus: 0, limitMemoryBytes: 0, reserveNanoCpus: 0, reserveMemoryBytes: 0 },
  placement: { constraints: [], preferences: [], maxReplicasPerNode: 0 },
  updateConfig: {
    parallelism: 1,
    delayNs: null,
    failureAction: "pause",
    monitorNs: 5e9,
    maxFailureRatio: null,
    order: "stop-first",
  },
  restartPolicy: { condition: "any", delayNs: 5e9, maxAttempts: 0, windowNs: null },
  replicas: 1,
  ...over,
});

describe("drift comparison", () => {
  it("compares images digest-aware: a pinned live image matches its tag, a desired digest must be the live one", () => {
    const digest = "sha256:" + "b".repeat(64);
    expect(imageMatches("nginx:1.25", `nginx:1.25@${digest}`)).to.equal(true);
    expect(imageMatches("nginx", `docker.io/library/nginx:latest@${digest}`)).to.equal(true);
    expect(imageMatches(`nginx@${digest}`, `nginx:1.25@${digest}`)).to.equal(true);
    expect(imageMatches(`nginx:1.25@${digest}`, `nginx:1.25@${digest}`)).to.equal(true);
    expect(imageMatches(`nginx@${digest}`, `nginx:1.25@sha256:${"c".repeat(64)}`)).to.equal(false);
    expect(imageMatches("nginx:1.25", "nginx:1.27")).to.equal(false);
    expect(imageMatches("ghcr.io/acme/app:1", "acme/app:1")).to.equal(false);
    expect(imageMatches("registry:5000/app:1", "registry:5000/app:1@" + digest)).to.equal(true);
  });

  it("a bare service against what Swarm made of it is in sync (Swarm's policy defaults are not drift)", () => {
    expect(compareServiceSpec(desiredOf("services:\n  app:\n    image: nginx:1.25\n"), bare())).to.deep.equal([]);
    // Swarm left the policies unset altogether: its defaults apply.
    const unset = bare({ updateConfig: null, restartPolicy: null });
    expect(compareServiceSpec(desiredOf("services:\n  app:\n    image: nginx:1.25\n"), unset)).to.deep.equal([]);
  });

  it("reports each hand change on its own field, with a summary", () => {
    const desired = desiredOf("services:\n  app:\n    image: nginx:1.25\n    environment: { A: 1 }\n");
    const fields = compareServiceSpec(
      desired,
      bare({
        env: ["A=2", "X=1"],
        labels: { owner: "me" },
        ports: [{ published: 8080, target: 80, protocol: "tcp", mode: "ingress" }],
        secrets: [{ source: "shop_pw", target: "pw" }],
        mounts: [{ type: "bind", source: "/srv", target: "/srv", readOnly: false }],
        resources: {
          limitNanoCpus: 5e8,
          limitMemoryBytes: 64 * 1024 * 1024,
          reserveNanoCpus: 0,
          reserveMemoryBytes: 0,
        },
        placement: { constraints: ["node.role==worker"], preferences: [], maxReplicasPerNode: 0 },
        updateConfig: { ...bare().updateConfig!, parallelism: 3 },
        restartPolicy: { ...bare().restartPolicy!, condition: "none" },
        command: ["sleep", "1"],
        replicas: 4,
      }),
    );
    expect(fields.map((f) => [f.field, f.summary])).to.deep.equal([
      ["command", 'command ["sleep","1"] ≠ desired null'],
      ["env", "env A changed, env X=1 added"],
      ["labels", "label owner=me added"],
      ["ports", "port 8080:80/tcp added"],
      ["secrets", "secret pw (shop_pw) added"],
      ["mounts", "mount /srv added"],
      ["resources", "limits.cpus 0.5 ≠ desired 0, limits.memory 64MiB ≠ desired 0"],
      ["placement", "constraint node.role==worker added"],
      ["updateConfig", "update_config.parallelism 3 ≠ desired 1"],
      ["restartPolicy", "restart_policy.condition none ≠ desired any"],
      ["replicas", "replicas 4 ≠ desired 1"],
    ]);
    expect(fields[1]).to.deep.include({ desired: ["A=1"], live: ["A=2", "X=1"] });
  });

  it("normalises compose to Swarm's terms: object names, env, ports, mounts, sizes, durations, restart", () => {
    const d = desiredOf(`services:
  app:
    image: app:\${TAG}
    entrypoint: ["/bin/sh", "-c"]
    command: echo "a b" 'c d'
    environment: [B=2, A=1, "HOST=\${HOST}", EMPTY]
    labels: [tier=web, io.stackyard.org=o1]
    ports: ["8080-8081:80-81/udp", "127.0.0.1:9000:90", "3000", { target: 53, published: 53, protocol: udp, mode: host }]
    volumes: ["data:/data", "shared:/shared:ro", "./rel:/rel", "/abs:/abs:ro,z", "/anon"]
    secrets: [pw, { source: key, target: /etc/key }]
    configs: [conf]
    restart: on-failure:3
    deploy:
      mode: global
      labels: { com.docker.stack.image: x, team: core }
      resources: { limits: { cpus: 1.5, memory: 1.5g }, reservations: { cpus: "0.1", memory: 512mb } }
      placement: { constraints: [b, a], preferences: [{ spread: node.labels.zone }], max_replicas_per_node: 2 }
      update_config: { delay: 1m30s, max_failure_ratio: 0.5, failure_action: rollback }
volumes:
  data: {}
  shared: { external: true }
secrets:
  pw: { external: true, name: shop_pw_v3 }
  key: { file: ./key }
configs:
  conf: { name: shared-conf, external: true }
`);
    expect(d.image).to.equal(null);
    expect(d.entrypoint).to.deep.equal(["/bin/sh", "-c"]);
    expect(d.command).to.deep.equal(["echo", "a b", "c d"]);
    expect(d.env).to.deep.equal(["A=1", "B=2", "EMPTY", "HOST=${HOST}"]);
    expect(d.containerLabels).to.deep.equal({ tier: "web" });
    expect(d.labels).to.deep.equal({ team: "core" });
    expect(d.ports).to.deep.equal([
      { published: 53, target: 53, protocol: "udp", mode: "host" },
      { published: 8080, target: 80, protocol: "udp", mode: "ingress" },
      { published: 8081, target: 81, protocol: "udp", mode: "ingress" },
      { published: 9000, target: 90, protocol: "tcp", mode: "ingress" },
      { published: null, target: 3000, protocol: "tcp", mode: "ingress" },
    ]);
    expect(d.mounts).to.deep.equal([
      { type: "bind", source: "/abs", target: "/abs", readOnly: true },
      { type: "bind", source: null, target: "/rel", readOnly: false },
      { type: "volume", source: "", target: "/anon", readOnly: false },
      { type: "volume", source: "shared", target: "/shared", readOnly: true },
      { type: "volume", source: "shop_data", target: "/data", readOnly: false },
    ]);
    expect(d.secrets).to.deep.equal([
      { source: "shop_key", target: "/etc/key" },
      { source: "shop_pw_v3", target: "pw" },
    ]);
    expect(d.configs).to.deep.equal([{ source: "shared-conf", target: "conf" }]);
    expect(d.resources).to.deep.equal({
      limitNanoCpus: 1.5e9,
      limitMemoryBytes: 1.5 * 1024 ** 3,
      reserveNanoCpus: 1e8,
      reserveMemoryBytes: 512 * 1024 ** 2,
    });
    expect(d.placement).to.deep.equal({
      constraints: ["a", "b"],
      preferences: ["node.labels.zone"],
      maxReplicasPerNode: 2,
    });
    expect(d.updateConfig).to.deep.include({
      delayNs: 90e9,
      maxFailureRatio: 0.5,
      failureAction: "rollback",
      parallelism: 1,
    });
    expect(d.restartPolicy).to.deep.equal({ condition: "on-failure", delayNs: 5e9, maxAttempts: 3, windowNs: 0 });
    expect(d.replicas).to.equal(null);
  });

  it("does not compare what this side cannot know: an interpolated value takes any live value, env_file skips env", () => {
    const d = desiredOf("services:\n  app:\n    image: nginx:1.25\n    environment: { HOST: $HOST }\n");
    expect(compareServiceSpec(d, bare({ env: ["HOST=db1"] }))).to.deep.equal([]);
    expect(compareServiceSpec(d, bare({ env: [] })).map((f) => f.summary)).to.deep.equal(["env HOST removed"]);
    const withFile = desiredOf("services:\n  app:\n    image: nginx:1.25\n    env_file: .env\n");
    expect(compareServiceSpec(withFile, bare({ env: ["FROM_FILE=1"] }))).to.deep.equal([]);
    const relBind = desiredOf("services:\n  app:\n    image: nginx:1.25\n    volumes: [./x:/x]\n");
    const mount = { type: "bind", source: "/home/agent/x", target: "/x", readOnly: false };
    expect(compareServiceSpec(relBind, bare({ mounts: [mount] }))).to.deep.equal([]);
  });

  it("parses the compose value forms", () => {
    expect(shellSplit(`sh -c "echo \\"hi\\"" a\\ b ''`)).to.deep.equal(["sh", "-c", 'echo "hi"', "a b", ""]);
    expect([
      durationNs("10s"),
      durationNs("1m30s"),
      durationNs("500ms"),
      durationNs("1h"),
      durationNs("x"),
    ]).to.deep.equal([10e9, 90e9, 5e8, 3600e9, undefined]);
    expect([sizeBytes("64M"), sizeBytes("1k"), sizeBytes("2GiB"), sizeBytes(100), sizeBytes("lots")]).to.deep.equal([
      64 * 1024 ** 2,
      1024,
      2 * 1024 ** 3,
      100,
      undefined,
    ]);
    expect(portsOf(["not a port"])).to.equal(null);
  });
});
