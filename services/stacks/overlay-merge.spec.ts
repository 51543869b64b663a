import { expect } from "chai";
import { parse } from "yaml";
import { AppError } from "../_shared/errors.js";
import type { JsonObject } from "./json.js";
import { applyEnv, mergeCompose, parseComposePatch, parseEnvOverlay } from "./overlay-merge.js";

const y = (text: string): JsonObject => parse(text) as JsonObject;

describe("mergeCompose", () => {
  const cases: Array<{ name: string; base: string; patch: string; expected: string }> = [
    {
      name: "maps merge recursively, scalars replace",
      base: "services: { web: { image: nginx:1, deploy: { replicas: 1, mode: replicated } } }",
      patch: "services: { web: { image: nginx:2, deploy: { replicas: 3 } } }",
      expected: "services: { web: { image: nginx:2, deploy: { replicas: 3, mode: replicated } } }",
    },
    {
      name: "a service only in the patch is added",
      base: "services: { web: { image: nginx } }",
      patch: "services: { worker: { image: busybox } }",
      expected: "services: { web: { image: nginx }, worker: { image: busybox } }",
    },
    {
      name: "top-level maps merge",
      base: "services: { web: { image: a } }\nnetworks: { front: { driver: overlay } }",
      patch: "networks: { front: { attachable: true }, back: { driver: overlay } }",
      expected:
        "services: { web: { image: a } }\nnetworks: { front: { driver: overlay, attachable: true }, back: { driver: overlay } }",
    },
    {
      name: "environment: list and map forms merge by key into a map",
      base: "services: { web: { image: a, environment: [A=1, B=2, C] } }",
      patch: "services: { web: { environment: { B: '3', D: '4' } } }",
      expected: "services: { web: { image: a, environment: { A: '1', B: '3', C: null, D: '4' } } }",
    },
    {
      name: "environment: a null in the patch removes the variable",
      base: "services: { web: { image: a, environment: { A: '1', B: '2' } } }",
      patch: "services: { web: { environment: { A: null } } }",
      expected: "services: { web: { image: a, environment: { B: '2' } } }",
    },
    {
      name: "labels and deploy.labels merge by key",
      base: "services: { web: { image: a, labels: [x=1], deploy: { labels: [p=1], replicas: 1 } } }",
      patch: "services: { web: { labels: { y: '2' }, deploy: { labels: [q=2] } } }",
      expected:
        "services: { web: { image: a, labels: { x: '1', y: '2' }, deploy: { labels: { p: '1', q: '2' }, replicas: 1 } } }",
    },
    {
      name: "ports: same published/target/protocol replaces, others append",
      base: "services: { web: { image: a, ports: ['8080:80', '9090:90/udp'] } }",
      patch: "services: { web: { ports: [{ target: 80, published: 8080, protocol: tcp, mode: host }, '443:443'] } }",
      expected:
        "services: { web: { image: a, ports: [{ target: 80, published: 8080, protocol: tcp, mode: host }, '9090:90/udp', '443:443'] } }",
    },
    {
      name: "ports: a different published port for the same target is another port (as compose)",
      base: "services: { web: { image: a, ports: ['8080:80'] } }",
      patch: "services: { web: { ports: ['9090:80'] } }",
      expected: "services: { web: { image: a, ports: ['8080:80', '9090:80'] } }",
    },
    {
      name: "expose: union by port (the patch's spelling wins)",
      base: "services: { web: { image: a, expose: ['80', 81] } }",
      patch: "services: { web: { expose: [80, '82'] } }",
      expected: "services: { web: { image: a, expose: [80, 81, '82'] } }",
    },
    {
      name: "volumes: keyed by target",
      base: "services: { web: { image: a, volumes: ['data:/var/lib/data', '/etc/x:/etc/x:ro'] } }",
      patch: "services: { web: { volumes: [{ type: volume, source: other, target: /var/lib/data }, 'logs:/logs'] } }",
      expected:
        "services: { web: { image: a, volumes: [{ type: volume, source: other, target: /var/lib/data }, '/etc/x:/etc/x:ro', 'logs:/logs'] } }",
    },
    {
      name: "secrets: keyed by mount target (short form mounts at /run/secrets/<name>)",
      base: "services: { web: { image: a, secrets: [db_password, { source: api_key, target: key }] } }",
      patch: "services: { web: { secrets: [{ source: db_password, target: db_password, mode: 0400 }, tls] } }",
      expected:
        "services: { web: { image: a, secrets: [{ source: db_password, target: db_password, mode: 256 }, { source: api_key, target: key }, tls] } }",
    },
    {
      name: "configs: keyed by mount target (short form mounts at /<name>)",
      base: "services: { web: { image: a, configs: [nginx_conf] } }",
      patch: "services: { web: { configs: [{ source: nginx_conf_v2, target: /nginx_conf }, extra] } }",
      expected: "services: { web: { image: a, configs: [{ source: nginx_conf_v2, target: /nginx_conf }, extra] } }",
    },
    {
      name: "networks: two lists make a union",
      base: "services: { web: { image: a, networks: [front, back] } }",
      patch: "services: { web: { networks: [back, admin] } }",
      expected: "services: { web: { image: a, networks: [front, back, admin] } }",
    },
    {
      name: "networks: list and map forms mix into a map; `name: null` attaches",
      base: "services: { web: { image: a, networks: [front] } }",
      patch: "services: { web: { networks: { front: { aliases: [www] }, back: null } } }",
      expected: "services: { web: { image: a, networks: { front: { aliases: [www] }, back: null } } }",
    },
    {
      name: "command and entrypoint are replaced, not appended",
      base: "services: { web: { image: a, command: [serve, --port, '80'], entrypoint: /init } }",
      patch: "services: { web: { command: [serve, --port, '8080'], entrypoint: [/init, --verbose] } }",
      expected: "services: { web: { image: a, command: [serve, --port, '8080'], entrypoint: [/init, --verbose] } }",
    },
    {
      name: "healthcheck.test is replaced, other healthcheck keys merge",
      base: "services: { web: { image: a, healthcheck: { test: [CMD, a], interval: 10s } } }",
      patch: "services: { web: { healthcheck: { test: [CMD, b] } } }",
      expected: "services: { web: { image: a, healthcheck: { test: [CMD, b], interval: 10s } } }",
    },
    {
      name: "other lists: union without duplicates",
      base: "services: { web: { image: a, deploy: { placement: { constraints: [node.role==worker] } } } }",
      patch:
        "services: { web: { deploy: { placement: { constraints: [node.role==worker, node.labels.ssd==true] } } } }",
      expected:
        "services: { web: { image: a, deploy: { placement: { constraints: [node.role==worker, node.labels.ssd==true] } } } }",
    },
    {
      name: "an explicit null removes a key",
      base: "services: { web: { image: a, ports: ['80:80'], deploy: { replicas: 2, resources: { limits: { memory: 1G } } } } }",
      patch: "services: { web: { ports: null, deploy: { resources: null } } }",
      expected: "services: { web: { image: a, deploy: { replicas: 2 } } }",
    },
    {
      name: "an explicit null removes a whole service",
      base: "services: { web: { image: a }, debug: { image: b } }",
      patch: "services: { debug: null }",
      expected: "services: { web: { image: a } }",
    },
    {
      name: "a type change replaces (string command over list command)",
      base: "services: { web: { image: a, dns: [1.1.1.1] } }",
      patch: "services: { web: { dns: 8.8.8.8 } }",
      expected: "services: { web: { image: a, dns: 8.8.8.8 } }",
    },
  ];

  for (const c of cases) {
    it(c.name, () => {
      expect(mergeCompose(y(c.base), parseComposePatch(c.patch))).to.deep.equal(y(c.expected));
    });
  }

  it("does not modify its inputs", () => {
    const base = y("services: { web: { image: a, environment: [A=1] } }");
    const patch = parseComposePatch("services: { web: { environment: { B: '2' } } }");
    const before = JSON.stringify([base, patch]);
    mergeCompose(base, patch);
    expect(JSON.stringify([base, patch])).to.equal(before);
  });
});

describe("parseComposePatch tags", () => {
  it("!override replaces a list instead of merging it", () => {
    const patch = parseComposePatch("services:\n  web:\n    ports: !override\n      - '443:80'\n");
    const merged = mergeCompose(y("services: { web: { image: a, ports: ['8080:80', '9090:90'] } }"), patch);
    expect(merged).to.deep.equal(y("services: { web: { image: a, ports: ['443:80'] } }"));
  });

  it("!override replaces a map instead of merging it", () => {
    const patch = parseComposePatch("services:\n  web:\n    deploy: !override\n      replicas: 5\n");
    const merged = mergeCompose(y("services: { web: { image: a, deploy: { replicas: 1, mode: replicated } } }"), patch);
    expect(merged).to.deep.equal(y("services: { web: { image: a, deploy: { replicas: 5 } } }"));
  });

  it("!reset removes a value, also a network attachment", () => {
    const patch = parseComposePatch(
      "services:\n  web:\n    environment: !reset {}\n    networks:\n      back: !reset null\n",
    );
    const merged = mergeCompose(
      y("services: { web: { image: a, environment: [A=1], networks: { front: null, back: null } } }"),
      patch,
    );
    expect(merged).to.deep.equal(y("services: { web: { image: a, networks: { front: null } } }"));
  });

  it("an empty patch changes nothing", () => {
    const base = y("services: { web: { image: a } }");
    expect(mergeCompose(base, parseComposePatch(""))).to.deep.equal(base);
    expect(mergeCompose(base, parseComposePatch("# nothing yet\n"))).to.deep.equal(base);
  });

  it("rejects a patch that is not a mapping, and other tags", () => {
    expect(() => parseComposePatch("- a"))
      .to.throw(AppError)
      .with.property("type", "COMPOSE_NOT_A_MAPPING");
    expect(() => parseComposePatch("services: !merge {}"))
      .to.throw(AppError)
      .with.property("type", "COMPOSE_INVALID_YAML");
    expect(() => parseComposePatch("x: [!override a]"))
      .to.throw(AppError)
      .with.property("type", "COMPOSE_INVALID_YAML");
  });
});

describe("applyEnv", () => {
  const doc = y("services: { web: { image: a, environment: [A=from-release, KEEP=1] }, worker: { image: b } }");

  it("sets global variables on every service and per-service ones on theirs, which win", () => {
    const out = applyEnv(doc, { global: { A: "global", G: "g" }, services: { worker: { A: "worker", W: "w" } } });
    expect(out).to.deep.equal(
      y(
        "services: { web: { image: a, environment: { A: global, G: g, KEEP: '1' } }, worker: { image: b, environment: { A: worker, G: g, W: w } } }",
      ),
    );
    expect(doc).to.deep.equal(
      y("services: { web: { image: a, environment: [A=from-release, KEEP=1] }, worker: { image: b } }"),
    );
  });

  it("leaves services alone when there is nothing to add", () => {
    expect(applyEnv(doc, {})).to.deep.equal(doc);
  });

  it("escapes `$` so docker stack deploy does not interpolate an overlay value", () => {
    const out = applyEnv(doc, { services: { web: { PASSWORD: "pa$word${X}" } } });
    expect((out.services as JsonObject).web).to.deep.include({
      environment: { A: "from-release", KEEP: "1", PASSWORD: "pa$$word$${X}" },
    });
  });

  it("rejects a per-service entry for a service the file does not define (422)", () => {
    expect(() => applyEnv(doc, { services: { web: {}, db: { X: "1" }, cache: {} } }))
      .to.throw(AppError)
      .that.satisfies(
        (e: AppError) =>
          e.code === 422 &&
          e.type === "OVERLAY_UNKNOWN_SERVICE" &&
          JSON.stringify(e.data) === JSON.stringify({ services: ["db", "cache"] }),
      );
  });

  const invalid: Array<[string, unknown, string]> = [
    ["a non-object", [], ""],
    ["an unknown top-level key", { globals: {} }, ""],
    ["a non-string value", { global: { A: 1 } }, "global.A"],
    ["an invalid variable name", { global: { "A=B": "x" } }, "global"],
    ["a per-service value that is not a map", { services: { web: "A=1" } }, "services.web"],
  ];
  for (const [name, envJson, path] of invalid) {
    it(`rejects ${name} with OVERLAY_ENV_INVALID`, () => {
      expect(() => parseEnvOverlay(envJson))
        .to.throw(AppError)
        .that.satisfies(
          (e: AppError) =>
            e.code === 422 &&
            e.type === "OVERLAY_ENV_INVALID" &&
            (e.data as Array<{ path: string }>).some((d) => d.path === path),
        );
    });
  }
});
