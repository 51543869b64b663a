import { expect } from "chai";
import { AppError } from "../_shared/errors.js";
import {
  ComposeValidationError,
  isValidStackName,
  validateCompose,
  type ComposeValidationCode,
  type ValidateComposeOptions,
} from "./compose-validation.js";

const LIMIT = { maxBytes: 64 * 1024 };

function rejection(yamlText: string, options: ValidateComposeOptions = LIMIT): AppError {
  try {
    validateCompose(yamlText, options);
  } catch (err) {
    expect(err).to.be.instanceOf(AppError);
    return err as AppError;
  }
  throw new Error("expected the compose file to be rejected");
}

describe("validateCompose", () => {
  it("accepts a Swarm-ready file and returns the parsed document without warnings", () => {
    const { document, warnings } = validateCompose(
      [
        "x-defaults: &defaults",
        "  restart_policy: { condition: on-failure }",
        "services:",
        "  web:",
        "    image: nginx:1.27",
        "    ports: ['8080:80', '127.0.0.1:9090:90/udp', { target: 443, published: 8443, mode: host }]",
        "    environment: [A=1, B]",
        "    deploy:",
        "      <<: *defaults",
        "      replicas: 2",
        "      update_config: { order: start-first, delay: 10s }",
        "      resources: { limits: { cpus: '0.5', memory: 128M } }",
        "    healthcheck: { test: [CMD, curl, -f, http://localhost], interval: 1m30s }",
        "networks:",
        "  backend: { driver: overlay, ipam: { config: [{ subnet: 10.1.0.0/24 }] } }",
      ].join("\n"),
      LIMIT,
    );
    expect(warnings).to.deep.equal([]);
    expect(document.services?.web?.deploy).to.deep.include({
      replicas: 2,
      restart_policy: { condition: "on-failure" },
    });
  });

  const bad: Array<{ name: string; yaml: string; code: ComposeValidationCode; message: RegExp; details?: unknown }> = [
    {
      name: "invalid YAML, with its position",
      yaml: "services:\n  web:\n    image: nginx: latest\n",
      code: "COMPOSE_INVALID_YAML",
      message: /^invalid YAML at line 3, column 12: Nested mappings are not allowed in compact mappings$/,
      details: { line: 3, column: 12, yamlCode: "BLOCK_AS_IMPLICIT_KEY" },
    },
    {
      name: "tab indentation",
      yaml: "services:\n\tweb: {}\n",
      code: "COMPOSE_INVALID_YAML",
      message: /^invalid YAML at line 2, column 1: Tabs are not allowed as indentation$/,
      details: { line: 2, column: 1 },
    },
    {
      name: "a duplicate key",
      yaml: "services:\n  web:\n    image: a\n    image: b\n",
      code: "COMPOSE_INVALID_YAML",
      message: /unique/i,
      details: { line: 4 },
    },
    {
      name: "an unknown tag",
      yaml: "services:\n  web:\n    image: !secret nginx\n",
      code: "COMPOSE_INVALID_YAML",
      message: /Unresolved tag: !secret/,
      details: { line: 3 },
    },
    { name: "a list at the top", yaml: "- a\n- b\n", code: "COMPOSE_NOT_A_MAPPING", message: /mapping/ },
    { name: "no services", yaml: "networks: { a: {} }\n", code: "COMPOSE_NO_SERVICES", message: /no services/ },
    { name: "empty services", yaml: "services: {}\n", code: "COMPOSE_NO_SERVICES", message: /no services/ },
    {
      name: "a service without image",
      yaml: "services:\n  web: { image: nginx }\n  api: { build: . }\n",
      code: "COMPOSE_SERVICE_WITHOUT_IMAGE",
      message: /service "api" has no image/,
      details: { service: "api" },
    },
    {
      name: "a null service",
      yaml: "services:\n  web:\n",
      code: "COMPOSE_SERVICE_WITHOUT_IMAGE",
      message: /service "web"/,
    },
    {
      name: "keys docker stack deploy refuses",
      yaml: "services:\n  web: { image: nginx, mem_limit: 64m, pull_policy: always }\n",
      code: "COMPOSE_UNSUPPORTED_BY_SWARM",
      message: /web\.mem_limit, web\.pull_policy/,
    },
    {
      name: "a wrong type in deploy",
      yaml: "services:\n  web: { image: nginx, deploy: { replicas: two } }\n",
      code: "COMPOSE_SCHEMA",
      message: /services\.web\.deploy\.replicas must be integer/,
      details: [{ path: "services.web.deploy.replicas", message: "must be integer" }],
    },
    {
      name: "an unknown key",
      yaml: "services:\n  web: { image: nginx, imagee: nginx }\n",
      code: "COMPOSE_SCHEMA",
      message: /services\.web\.imagee is not allowed here/,
    },
    {
      name: "an enum violation",
      yaml: "services:\n  web: { image: nginx, deploy: { update_config: { order: sideways } } }\n",
      code: "COMPOSE_SCHEMA",
      message: /order must be one of "start-first", "stop-first"/,
    },
    {
      name: "a malformed duration",
      yaml: "services:\n  web: { image: nginx, deploy: { restart_policy: { delay: soon } } }\n",
      code: "COMPOSE_SCHEMA",
      message: /delay must match format "duration"/,
    },
    {
      name: "a malformed port",
      yaml: "services:\n  web: { image: nginx, ports: ['80:80:80:80'] }\n",
      code: "COMPOSE_SCHEMA",
      message: /services\.web\.ports\.0/,
    },
    {
      name: "a bad top-level key",
      yaml: "services:\n  web: { image: nginx }\nname: demo\n",
      code: "COMPOSE_SCHEMA",
      message: /name is not allowed here/,
    },
  ];

  for (const c of bad) {
    it(`rejects ${c.name} with ${c.code}`, () => {
      const err = rejection(c.yaml);
      expect(err).to.be.instanceOf(ComposeValidationError);
      expect(err.code).to.equal(422);
      expect(err.type).to.equal(c.code);
      expect(err.message).to.match(c.message);
      if (Array.isArray(c.details)) expect(err.data).to.deep.equal(c.details);
      else if (c.details) expect(err.data).to.deep.include(c.details as object);
    });
  }

  it("rejects a file over the size limit with 413 before parsing it", () => {
    const err = rejection(`services: { web: { image: nginx } }\n# ${"x".repeat(100)}`, { maxBytes: 64 });
    expect(err.code).to.equal(413);
    expect(err.type).to.equal("COMPOSE_TOO_LARGE");
    expect(err.data).to.deep.include({ maxBytes: 64 });
  });

  it("rejects an alias expansion bomb", () => {
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (const [name, prev] of [
      ["b", "a"],
      ["c", "b"],
      ["d", "c"],
      ["e", "d"],
    ] as const) {
      lines.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(",")}]`);
    }
    const err = rejection(`${lines.join("\n")}\nservices: { web: { image: nginx } }\n`);
    expect(err.type).to.equal("COMPOSE_TOO_MANY_ALIASES");
  });

  // Found by test/fuzz/properties.spec.ts: a cyclic object overflowed the stack in the merge and the schema walk.
  it("rejects an alias inside the node its anchor names, with its line", () => {
    const err = rejection("services: &s\n  web:\n    image: nginx\n    labels: *s\n");
    expect(err.type).to.equal("COMPOSE_RECURSIVE_ALIAS");
    expect(err.message).to.contain("line 4");
    expect(err.code).to.equal(422);
  });

  // Found by `make fuzz` (the properties): the yaml library threw "Merge sources must be maps" while converting.
  it("rejects a merge key whose value is not a mapping, with its line; merges of mappings still work", () => {
    const err = rejection('services:\n  a:\n    image:\n      <<: "0"\n');
    expect(err.type).to.equal("COMPOSE_INVALID_YAML");
    expect(err.message).to.contain("merge key (<<)").and.to.contain("line 4");
    expect(err.code).to.equal(422);
    expect(rejection("x-s: &s text\nservices:\n  a:\n    <<: *s\n").type).to.equal("COMPOSE_INVALID_YAML");
    const { document } = validateCompose(
      'x-b: &b { image: "nginx:1" }\nservices:\n  a:\n    <<: [*b, { command: ["x"] }]\n    environment:\n      "<<": quoted-is-a-plain-key\n',
      { maxBytes: 100_000, stackName: "s" },
    );
    expect(document.services?.a?.image).to.equal("nginx:1");
  });

  it("accepts an alias to a sibling (not recursive)", () => {
    const { document } = validateCompose(
      "x-common: &common\n  image: nginx\nservices:\n  web: *common\n  api: *common\n",
      LIMIT,
    );
    expect(document.services).to.deep.equal({ web: { image: "nginx" }, api: { image: "nginx" } });
  });

  it("rejects a list or mapping used as a key (JavaScript would stringify it; the docker CLI refuses it)", () => {
    const err = rejection("services:\n  ? [web]\n  : { image: nginx }\n");
    expect(err.type).to.equal("COMPOSE_INVALID_YAML");
    expect(err.message).to.contain("mapping key must be a plain value");
  });

  it("warns about every key Swarm ignores, naming service and key", () => {
    const { warnings } = validateCompose(
      [
        "services:",
        "  web:",
        "    image: nginx",
        "    build: .",
        "    depends_on: [db]",
        "    container_name: web",
        "    restart: always",
        "    links: [db]",
        "    network_mode: host",
        "    devices: ['/dev/null:/dev/null']",
        "    cap_add: [NET_ADMIN]",
        "    env_file: .env",
        "  db:",
        "    image: postgres",
        "    expose: ['5432']",
        "secrets:",
        "  token: { file: ./token.txt }",
      ].join("\n"),
      LIMIT,
    );
    expect(warnings.map((w) => [w.service, w.key, w.code])).to.deep.equal([
      [null, "secrets.token.file", "COMPOSE_LOCAL_FILE"],
      ["db", "expose", "COMPOSE_KEY_IGNORED"],
      ["web", "build", "COMPOSE_KEY_IGNORED"],
      ["web", "container_name", "COMPOSE_KEY_IGNORED"],
      ["web", "depends_on", "COMPOSE_KEY_IGNORED"],
      ["web", "devices", "COMPOSE_KEY_IGNORED"],
      ["web", "env_file", "COMPOSE_LOCAL_FILE"],
      ["web", "links", "COMPOSE_KEY_IGNORED"],
      ["web", "network_mode", "COMPOSE_KEY_IGNORED"],
      ["web", "restart", "COMPOSE_KEY_IGNORED"],
    ]);
    // cap_add is honoured by Swarm services (Docker 20.10+): no warning.
    expect(warnings.find((w) => w.key === "cap_add")).to.equal(undefined);
    expect(warnings.find((w) => w.key === "restart")?.message).to.match(/restart_policy/);
  });

  it("rejects a healthcheck command word YAML reads as a boolean", () => {
    const err = rejection("services:\n  web: { image: nginx, healthcheck: { test: [CMD, true] } }\n");
    expect(err.type).to.equal("COMPOSE_SCHEMA");
    expect(err.data).to.deep.include({ path: "services.web.healthcheck.test.1", message: "must be string" });
  });

  it("reads integers as docker's Go YAML reader does (0400 is octal)", () => {
    const { document } = validateCompose(
      [
        "services:",
        "  web:",
        "    image: nginx",
        "    secrets: [{ source: s, mode: 0400 }]",
        "    labels: { octal: 010, under: 1_000, bin: 0b101, hex: 0x1F, o: 0o17, zero: 0, neg: -010, text: '0400' }",
        "secrets: { s: { external: true } }",
      ].join("\n"),
      LIMIT,
    );
    const web = document.services?.web;
    expect(web?.secrets).to.deep.equal([{ source: "s", mode: 256 }]);
    expect(web?.labels).to.deep.equal({
      octal: 8,
      under: 1000,
      bin: 5,
      hex: 31,
      o: 15,
      zero: 0,
      neg: -8,
      text: "0400",
    });
  });

  it("leaves formats with variables to the deploying CLI", () => {
    const { document } = validateCompose("services:\n  web: { image: nginx, ports: ['${PORT}:80'] }\n", LIMIT);
    expect(document.services?.web?.ports).to.deep.equal(["${PORT}:80"]);
  });

  it("checks `<stack>_<service>` against Swarm's name length when the stack is known", () => {
    const yaml = `services:\n  ${"s".repeat(40)}: { image: nginx }\n`;
    expect(() => validateCompose(yaml, { ...LIMIT, stackName: "short" })).not.to.throw();
    const err = rejection(yaml, { ...LIMIT, stackName: "x".repeat(30) });
    expect(err.type).to.equal("COMPOSE_SERVICE_NAME_TOO_LONG");
  });
});

describe("isValidStackName", () => {
  const cases: Array<[string, boolean]> = [
    ["web", true],
    ["my-app_2", true],
    ["0day", true],
    ["a".repeat(63), true],
    ["a".repeat(64), false],
    ["", false],
    ["Web", false],
    ["-web", false],
    ["_web", false],
    ["web.app", false],
    ["web app", false],
  ];
  for (const [name, valid] of cases) {
    it(`${JSON.stringify(name.length > 20 ? `${name.slice(0, 5)}…(${name.length})` : name)} → ${valid}`, () => {
      expect(isValidStackName(name)).to.equal(valid);
    });
  }
});
