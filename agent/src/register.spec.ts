import { expect } from "chai";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createCommandSigningKey } from "../../nats/protocol/envelope.js";
import { validateMessage, type RegisterRequest } from "../../nats/protocol/messages.js";
import { createSealKeyPair, open, seal } from "../../nats/protocol/sealing.js";
import { ensureNatsTls, natsTlsFiles } from "../../nats/tls.js";
import type { RegisterConfig } from "./config.js";
import { AgentError } from "./errors.js";
import { createLogger } from "./logger.js";
import { registerAgent, type RegisterDeps } from "./register.js";
import { loadState, stateExists } from "./state.js";
import { FakeEngine, engineInfo } from "./testing/fake-engine.js";

const signing = createCommandSigningKey();
const jwtFor = (sub: string) =>
  ["eyJ0eXAiOiJKV1QifQ", Buffer.from(JSON.stringify({ sub, iat: 1 })).toString("base64url"), "c2ln"].join(".");

describe("agent registration", () => {
  let dir: string;
  let logged: string[];
  let requests: RegisterRequest[];
  let config: RegisterConfig;

  beforeEach(async () => {
    dir = join(await mkdtemp(join(tmpdir(), "stackyard-register-")), "state");
    logged = [];
    requests = [];
    config = {
      command: "register",
      url: "https://cp.example.com",
      token: "syr_one-time-token",
      stateDir: dir,
      dockerSocket: "/var/run/docker.sock",
      logLevel: "debug",
      force: false,
    };
  });
  afterEach(() => rm(join(dir, ".."), { recursive: true, force: true }));

  const deps = (respond: (req: RegisterRequest) => Response, engine = new FakeEngine()): RegisterDeps => ({
    engine,
    hostname: "manager-1",
    now: () => 1_700_000_000_000,
    log: createLogger({ level: "debug", write: (l) => logged.push(l) }),
    fetch: async (input, init) => {
      expect(String(input)).to.equal("https://cp.example.com/v1/agent/register");
      expect(init?.method).to.equal("POST");
      const body = validateMessage("RegisterRequest", JSON.parse(String(init?.body)));
      requests.push(body);
      return respond(body);
    },
  });

  const ok = (req: RegisterRequest) =>
    Response.json({
      clusterId: "c1",
      orgId: "o1",
      jwt: jwtFor(req.publicKey),
      natsUrls: ["tls://nats.example.com:4222"],
      commandSigningPublicKey: signing.publicKey,
      expiresAt: 1_702_592_000_000,
    });

  async function failure(p: Promise<unknown>): Promise<AgentError> {
    try {
      await p;
    } catch (err) {
      expect(err).to.be.instanceOf(AgentError);
      return err as AgentError;
    }
    throw new Error("registration succeeded");
  }

  it("sends its own public key and Docker facts, stores the seed and JWT, and never logs secrets", async () => {
    const state = await registerAgent(config, deps(ok));
    const [sent] = requests;
    expect(sent).to.deep.include({ token: "syr_one-time-token", hostname: "manager-1", docker: engineInfo() });
    expect(sent!.publicKey).to.equal(state.publicKey);
    expect(JSON.stringify(sent)).to.not.include(state.seed);
    expect(await loadState(dir)).to.deep.equal(state);
    expect(state).to.deep.include({ clusterId: "c1", orgId: "o1", commandSigningPublicKey: signing.publicKey });
    const log = logged.join("\n");
    for (const secret of [state.seed, state.jwt, "syr_one-time-token"]) expect(log).to.not.include(secret);
  });

  it("makes an X25519 seal key pair: the public half sent, the private half only in the 0600 state file; --force rotates it", async () => {
    const state = await registerAgent(config, deps(ok));
    const [sent] = requests;
    expect(sent!.sealPublicKey)
      .to.match(/^[A-Za-z0-9_-]{43}$/)
      .and.equal(state.sealPublicKey);
    expect(state.sealPrivateKey).to.match(/^[A-Za-z0-9_-]{43}$/);
    expect(JSON.stringify(sent)).to.not.include(state.sealPrivateKey!);
    expect(logged.join("\n")).to.not.include(state.sealPrivateKey!);
    expect((await stat(join(dir, "state.json"))).mode & 0o777).to.equal(0o600);
    const sealed = seal("v", state.sealPublicKey!, { clusterId: "c1", deploymentId: "d", kind: "secret", name: "n" });
    const keys = { publicKey: state.sealPublicKey!, privateKey: state.sealPrivateKey! };
    expect(open(sealed, keys, { clusterId: "c1", deploymentId: "d", kind: "secret", name: "n" }).toString()).to.equal(
      "v",
    );

    const again = await registerAgent({ ...config, force: true }, deps(ok));
    expect(again.sealPublicKey).to.not.equal(state.sealPublicKey);
    expect(again.sealPrivateKey).to.not.equal(state.sealPrivateKey);
    expect(requests[1]!.sealPublicKey).to.equal(again.sealPublicKey);
    expect((await loadState(dir)).sealPublicKey).to.equal(again.sealPublicKey);
  });

  it("loads a state from before sealing (no seal key), and refuses a half or mismatched seal key pair", async () => {
    const state = await registerAgent(config, deps(ok));
    const file = join(dir, "state.json");
    const { sealPublicKey: _p, sealPrivateKey: _k, ...old } = state;
    await writeFile(file, JSON.stringify(old), { mode: 0o600 });
    expect(await loadState(dir)).to.not.have.property("sealPublicKey");
    await writeFile(file, JSON.stringify({ ...old, sealPublicKey: state.sealPublicKey }), { mode: 0o600 });
    expect((await failure(loadState(dir))).code).to.equal("STATE_INVALID");
    const other = createSealKeyPair();
    await writeFile(file, JSON.stringify({ ...state, sealPrivateKey: other.privateKey }), { mode: 0o600 });
    const err = await failure(loadState(dir));
    expect(err.code).to.equal("STATE_INVALID");
    expect(err.message).to.match(/does not belong/);
  });

  it("explains a used, expired or unknown token (401)", async () => {
    const err = await failure(
      registerAgent(
        config,
        deps(() => Response.json({ error: { code: "TOKEN_INVALID", message: "token already used" } }, { status: 401 })),
      ),
    );
    expect(err.code).to.equal("REGISTRATION_REJECTED");
    expect(err.message).to.match(
      /invalid, expired or already used.*registration-token.*TOKEN_INVALID: token already used/s,
    );
    expect(await stateExists(dir)).to.equal(false);
  });

  it("explains a wrong URL (404), other refusals and server failures", async () => {
    expect(
      (
        await failure(
          registerAgent(
            config,
            deps(() => new Response("", { status: 404 })),
          ),
        )
      ).message,
    ).to.match(/check --url/);
    const refused = await failure(
      registerAgent(
        config,
        deps(() => Response.json({ error: { code: "VALIDATION", message: "bad hostname" } }, { status: 400 })),
      ),
    );
    expect(refused.message).to.match(/HTTP 400.*bad hostname/);
    const broken = await failure(
      registerAgent(
        config,
        deps(() => new Response("oops", { status: 502 })),
      ),
    );
    expect(broken.code).to.equal("REGISTRATION_FAILED");
  });

  it("refuses a response that is malformed or carries a JWT for another key", async () => {
    expect(
      (
        await failure(
          registerAgent(
            config,
            deps(() => Response.json({ clusterId: "c1" })),
          ),
        )
      ).code,
    ).to.equal("REGISTRATION_FAILED");
    const wrongKey = await failure(
      registerAgent(
        config,
        deps((req) => Response.json({ ...(JSON.parse(JSON.stringify(req)) as object), ...okBody(jwtFor("UOTHER")) })),
      ),
    );
    expect(wrongKey.message).to.match(/not for this agent's key/);
    expect(await stateExists(dir)).to.equal(false);
  });

  it("pins the NATS CA the control plane hands back, and refuses one that is not a CA certificate", async () => {
    const tlsDir = await mkdtemp(join(tmpdir(), "stackyard-register-ca-"));
    try {
      const ca = await readFile((await ensureNatsTls(tlsDir)).caFile, "utf8");
      const leaf = await readFile(natsTlsFiles(tlsDir).certFile, "utf8");
      const state = await registerAgent(
        config,
        deps((req) =>
          Response.json({ ...okBody(jwtFor(req.publicKey)), natsUrls: ["tls://nats.example.com:4222"], natsCa: ca }),
        ),
      );
      expect(state.natsCa).to.equal(ca);
      expect((await loadState(dir)).natsCa).to.equal(ca);
      const notCa = await failure(
        registerAgent(
          { ...config, force: true },
          deps((req) => Response.json({ ...okBody(jwtFor(req.publicKey)), natsCa: leaf })),
        ),
      );
      expect(notCa.code).to.equal("NATS_TLS_FAILED");
      expect((await loadState(dir)).natsCa, "the earlier registration is untouched").to.equal(ca);
    } finally {
      await rm(tlsDir, { recursive: true, force: true });
    }
  });

  it("refuses plaintext NATS URLs to other hosts before saving anything", async () => {
    const err = await failure(
      registerAgent(
        config,
        deps((req) => Response.json({ ...okBody(jwtFor(req.publicKey)), natsUrls: ["nats://10.0.0.1:4222"] })),
      ),
    );
    expect(err.code).to.equal("NATS_URL_INSECURE");
    expect(err.message).to.match(/refusing plaintext nats:\/\/ to 10\.0\.0\.1.*tls:\/\/.*NATS_AGENT_URLS/s);
    expect(await stateExists(dir)).to.equal(false);
  });

  it("says when the control plane cannot be reached", async () => {
    const d = deps(ok);
    d.fetch = async () => {
      throw Object.assign(new TypeError("fetch failed"), { cause: { code: "ECONNREFUSED" } });
    };
    const err = await failure(registerAgent(config, d));
    expect(err.code).to.equal("CONTROL_PLANE_UNREACHABLE");
    expect(err.message).to.include("ECONNREFUSED");
  });

  it("checks Docker before spending the token", async () => {
    const engine = new FakeEngine();
    engine.info_ = engineInfo({ isManager: false });
    expect((await failure(registerAgent(config, deps(ok, engine)))).code).to.equal("NOT_SWARM_MANAGER");
    expect(requests).to.have.length(0);
  });

  it("does not overwrite an existing registration unless forced", async () => {
    const first = await registerAgent(config, deps(ok));
    expect((await failure(registerAgent(config, deps(ok)))).code).to.equal("ALREADY_REGISTERED");
    const second = await registerAgent({ ...config, force: true }, deps(ok));
    expect(second.publicKey).to.not.equal(first.publicKey);
  });

  function okBody(jwt: string) {
    return {
      clusterId: "c1",
      orgId: "o1",
      jwt,
      natsUrls: ["nats://127.0.0.1:4222"],
      commandSigningPublicKey: signing.publicKey,
      expiresAt: 1,
    };
  }
});
