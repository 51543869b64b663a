import { expect } from "chai";
import {
  DEFAULT_DOCKER_SOCKET,
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_STATE_DIR,
  parseAgentConfig,
  type RegisterConfig,
  type RunConfig,
} from "./config.js";
import { AgentConfigError } from "./errors.js";

const problems = (argv: string[], env: Record<string, string> = {}): string[] => {
  try {
    parseAgentConfig(argv, env);
  } catch (err) {
    expect(err).to.be.instanceOf(AgentConfigError);
    return (err as AgentConfigError).problems;
  }
  throw new Error("configuration was accepted");
};

describe("agent configuration", () => {
  it("drives the daemon a unix:// DOCKER_HOST names, unless --docker-socket or its variable says otherwise", () => {
    const run = (argv: string[], env: Record<string, string>) =>
      (parseAgentConfig(argv, env) as RunConfig).dockerSocket;
    expect(run(["run"], {})).to.equal(DEFAULT_DOCKER_SOCKET);
    expect(run(["run"], { DOCKER_HOST: "unix:///tmp/other/docker.sock" })).to.equal("/tmp/other/docker.sock");
    expect(
      run(["run"], { DOCKER_HOST: "unix:///tmp/other.sock", STACKYARD_AGENT_DOCKER_SOCKET: "/run/mine.sock" }),
    ).to.equal("/run/mine.sock");
    expect(run(["run", "--docker-socket", "/run/flag.sock"], { DOCKER_HOST: "tcp://10.0.0.1:2375" })).to.equal(
      "/run/flag.sock",
    );
    expect(problems(["run"], { DOCKER_HOST: "tcp://10.0.0.1:2375" })).to.deep.equal([
      'DOCKER_HOST must be a unix:// socket (got "tcp://10.0.0.1:2375"); use --docker-socket / STACKYARD_AGENT_DOCKER_SOCKET',
    ]);
  });

  it("reads register flags, normalising the URL", () => {
    const config = parseAgentConfig(
      ["register", "--url", "https://cp.example.com/", "--token", "t1"],
      {},
    ) as RegisterConfig;
    expect(config).to.deep.include({
      command: "register",
      url: "https://cp.example.com",
      token: "t1",
      stateDir: DEFAULT_STATE_DIR,
      force: false,
      logLevel: "info",
    });
  });

  it("takes every setting from STACKYARD_AGENT_* when no flag is given, flags winning", () => {
    const env = {
      STACKYARD_AGENT_URL: "https://env.example.com",
      STACKYARD_AGENT_TOKEN: "from-env",
      STACKYARD_AGENT_STATE_DIR: "/srv/agent",
      STACKYARD_AGENT_FORCE: "true",
    };
    const config = parseAgentConfig(["register", "--state-dir", "/opt/agent"], env) as RegisterConfig;
    expect(config).to.deep.include({
      url: "https://env.example.com",
      token: "from-env",
      stateDir: "/opt/agent",
      force: true,
    });
  });

  it("reads run settings with defaults", () => {
    const config = parseAgentConfig(["run"], { STACKYARD_AGENT_INVENTORY_INTERVAL_MS: "30000" }) as RunConfig;
    expect(config).to.deep.include({
      command: "run",
      natsUrls: null,
      natsAuth: "jwt",
      heartbeatIntervalMs: DEFAULT_HEARTBEAT_INTERVAL_MS,
      inventoryIntervalMs: 30_000,
    });
  });

  it("accepts a local leaf node without credentials", () => {
    const config = parseAgentConfig(
      ["run", "--nats-url", "nats://127.0.0.1:4222", "--nats-auth", "none"],
      {},
    ) as RunConfig;
    expect(config.natsUrls).to.deep.equal(["nats://127.0.0.1:4222"]);
    expect(config.natsAuth).to.equal("none");
  });

  it("runs its own leaf node with --nats-mode leaf, and refuses settings that conflict with it", () => {
    const config = parseAgentConfig(["run", "--nats-mode", "leaf"], {
      STACKYARD_AGENT_LEAF_HUB_URL: "tls://hub.example.com:17422",
    }) as RunConfig;
    expect(config).to.deep.include({
      natsMode: "leaf",
      natsAuth: "none",
      natsUrls: null,
      leafHubUrl: "tls://hub.example.com:17422",
      leafPort: 14_223,
    });
    expect(parseAgentConfig(["run"], {}) as RunConfig).to.deep.include({ natsMode: "direct", leafHubUrl: null });
    expect(problems(["run", "--nats-mode", "leaf"]).join()).to.match(/needs --leaf-hub-url/);
    expect(problems(["run", "--nats-mode", "leaf", "--leaf-hub-url", "nats://hub:17422"]).join()).to.match(
      /must be tls:\/\/host:port/,
    );
    expect(
      problems([
        "run",
        "--nats-mode",
        "leaf",
        "--leaf-hub-url",
        "tls://h:1",
        "--nats-url",
        "nats://127.0.0.1:1",
      ]).join(),
    ).to.match(/--nats-url does not apply/);
    expect(problems(["run", "--leaf-hub-url", "tls://h:1"]).join()).to.match(/applies to --nats-mode leaf only/);
    expect(problems(["run", "--nats-mode", "mesh"]).join()).to.match(/must be direct or leaf/);
  });

  it("reports every problem at once", () => {
    const found = problems(["register", "--url", "ftp://x", "--log-level", "loud", "--state-dir", "relative/dir"]);
    expect(found).to.have.length(4);
    expect(found.join("\n")).to.match(/--url must be https/);
    expect(found.join("\n")).to.match(/--token .* is required/);
    expect(found.join("\n")).to.match(/log-level .* must be one of/);
    expect(found.join("\n")).to.match(/absolute path/);
  });

  it("refuses plain http except on loopback or with --allow-http", () => {
    expect(problems(["register", "--url", "http://cp.example.com", "--token", "t"]).join()).to.match(/must be https/);
    expect(parseAgentConfig(["register", "--url", "http://127.0.0.1:8080", "--token", "t"], {}).command).to.equal(
      "register",
    );
    expect(
      parseAgentConfig(["register", "--url", "http://cp:8080", "--token", "t", "--allow-http"], {}).command,
    ).to.equal("register");
  });

  it("refuses credentials in the URL", () => {
    expect(problems(["register", "--url", "https://u:p@cp.example.com", "--token", "t"]).join()).to.match(
      /credentials/,
    );
  });

  it("rejects conflicting run settings and out-of-range numbers", () => {
    expect(problems(["run", "--nats-auth", "none"]).join()).to.match(/needs --nats-url/);
    expect(problems(["run", "--heartbeat-interval-ms", "10"]).join()).to.match(/between 1000 and 300000/);
    expect(problems(["run", "--inventory-interval-ms", "5000", "--inventory-debounce-ms", "6000"]).join()).to.match(
      /debounce must be shorter/,
    );
    expect(problems(["run", "--nats-url", "http://x"]).join()).to.match(/nats:\/\//);
    expect(problems(["run", "--nats-url", "nats://10.0.0.1:4222"]).join()).to.match(
      /refusing plaintext nats:\/\/ to 10\.0\.0\.1.*use tls:\/\//,
    );
    expect(problems(["run", "--nats-url", "ws://nats.example.com:443"]).join()).to.match(/refusing plaintext ws:\/\//);
    const mixed = "tls://10.0.0.1:4222,nats://localhost:4222,wss://nats.example.com";
    expect((parseAgentConfig(["run", "--nats-url", mixed], {}) as RunConfig).natsUrls).to.have.length(3);
    expect(problems(["run"], { STACKYARD_AGENT_NATS_AUTH: "password" }).join()).to.match(/jwt or none/);
  });

  it("rejects flags of the other command, unknown flags and commands", () => {
    expect(problems(["run", "--token", "t"]).join()).to.match(/--token does not apply to "run"/);
    expect(problems(["run", "--bogus"]).join()).to.match(/bogus/);
    expect(problems(["deploy"]).join()).to.match(/unknown command "deploy"/);
    expect(problems(["register", "--url", "https://x", "--token", "t", "extra"]).join()).to.match(
      /unexpected arguments/,
    );
  });

  it("answers help and version", () => {
    expect(parseAgentConfig([], {}).command).to.equal("help");
    expect(parseAgentConfig(["help"], {}).command).to.equal("help");
    expect(parseAgentConfig(["version"], {}).command).to.equal("version");
  });
});
