import { expect } from "chai";
import { connect, credsAuthenticator, type NatsConnection } from "nats";
import { readFile } from "node:fs/promises";
import { publicKeyOfSeed } from "./identity.js";
import { mintUserCreds } from "./credentials.js";
import { agentUserJwtOptions } from "./protocol/subjects.js";
import { startTestNatsServer, type TestNatsServer } from "../services/_shared/testing/nats-server.js";

const enc = new TextEncoder();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Collects every permission violation the server reports on a connection (publishes never throw). */
function watchViolations(nc: NatsConnection): string[] {
  const seen: string[] = [];
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === "error") seen.push(String(status.data));
    }
  })();
  return seen;
}

describe("NATS operator mode and subject permissions (real nats-server)", function () {
  this.timeout(30_000);
  let server: TestNatsServer;
  let cp: NatsConnection;
  let agent: NatsConnection;
  let agentViolations: string[];

  before(async () => {
    server = await startTestNatsServer();
    cp = await connect({
      servers: server.url,
      tls: server.tls,
      authenticator: credsAuthenticator(await readFile(server.controlPlaneCredsFile)),
    });
    const { creds } = await mintUserCreds({
      name: "agent-c1",
      appAccountPublicKey: publicKeyOfSeed(server.identity.appAccountSeed),
      appSigningSeed: server.identity.appSigningSeed,
      permissions: { publish: ["agent.c1.>"], subscribe: ["cmd.c1.>"] },
    });
    agent = await connect({
      servers: server.url,
      tls: server.tls,
      authenticator: credsAuthenticator(enc.encode(creds)),
    });
    agentViolations = watchViolations(agent);
  });

  after(async () => {
    await agent?.close();
    await cp?.close();
    await server?.stop();
  });

  it("lets the control plane use JetStream in the application account", async () => {
    const jsm = await cp.jetstreamManager();
    const info = await jsm.getAccountInfo();
    expect(info.limits.max_storage).to.equal(-1);
  });

  it("refuses a connection without credentials", async () => {
    let error: unknown;
    try {
      const nc = await connect({ servers: server.url, tls: server.tls, reconnect: false, timeout: 3000 });
      await nc.close();
    } catch (err) {
      error = err;
    }
    expect(String(error)).to.match(/AUTHORIZATION_VIOLATION|Authorization Violation/i);
  });

  it("refuses a bearer-style connection that presents the JWT without signing the nonce", async () => {
    const { creds } = await mintUserCreds({
      name: "stolen",
      appAccountPublicKey: publicKeyOfSeed(server.identity.appAccountSeed),
      appSigningSeed: server.identity.appSigningSeed,
      permissions: { publish: ["agent.c1.>"], subscribe: ["cmd.c1.>"] },
    });
    const jwt = /-----BEGIN NATS USER JWT-----\n(.+)\n/.exec(creds)?.[1] ?? "";
    let error: unknown;
    try {
      const nc = await connect({
        servers: server.url,
        tls: server.tls,
        reconnect: false,
        timeout: 3000,
        authenticator: () => ({ jwt }),
      });
      await nc.close();
    } catch (err) {
      error = err;
    }
    expect(String(error)).to.match(/AUTHORIZATION_VIOLATION|Authorization Violation/i);
  });

  it("delivers the agent's publishes to agent.c1.> and drops agent.c2.>", async () => {
    const received: string[] = [];
    const sub = cp.subscribe("agent.>", { callback: (_err, msg) => received.push(msg.subject) });
    await cp.flush();
    agent.publish("agent.c1.heartbeat", enc.encode("ok"));
    agent.publish("agent.c2.heartbeat", enc.encode("spoofed"));
    await agent.flush();
    await sleep(300);
    sub.unsubscribe();
    expect(received).to.deep.equal(["agent.c1.heartbeat"]);
    // nats.js reports a refused publish only as a status event carrying the error code.
    expect(agentViolations).to.include("PERMISSIONS_VIOLATION");
  });

  it("lets the agent subscribe to cmd.c1.> but refuses cmd.c2.>", async () => {
    const own: string[] = [];
    agent.subscribe("cmd.c1.>", { callback: (_err, msg) => own.push(msg.subject) });
    let foreignError: unknown;
    const foreign: string[] = [];
    agent.subscribe("cmd.c2.>", {
      callback: (err, msg) => {
        if (err) foreignError = err;
        else foreign.push(msg.subject);
      },
    });
    await agent.flush();
    await sleep(200);
    cp.publish("cmd.c1.deploy", enc.encode("{}"));
    cp.publish("cmd.c2.deploy", enc.encode("{}"));
    await cp.flush();
    await sleep(300);
    expect(own).to.deep.equal(["cmd.c1.deploy"]);
    expect(foreign).to.deep.equal([]);
    expect(String(foreignError)).to.match(/Permissions Violation for Subscription to "cmd\.c2\.>"/);
  });

  it("gives a real agent JWT no JetStream API of the hub and no other cluster's leaf sourcing subjects", async () => {
    const { creds } = await mintUserCreds({
      ...agentUserJwtOptions("c1"),
      appAccountPublicKey: publicKeyOfSeed(server.identity.appAccountSeed),
      appSigningSeed: server.identity.appSigningSeed,
    });
    const real = await connect({
      servers: server.url,
      tls: server.tls,
      authenticator: credsAuthenticator(enc.encode(creds)),
    });
    const violations = watchViolations(real);
    try {
      const received: string[] = [];
      const sub = cp.subscribe(">", { callback: (_err, msg) => received.push(msg.subject) });
      await cp.flush();
      for (const subject of [
        "$JS.API.STREAM.INFO.STACKYARD_AGENT_EVENTS",
        "$JS.API.STREAM.DELETE.STACKYARD_AGENT_EVENTS",
        "agent-src.c2.S.abc",
        "agent-events.c2.d1",
      ])
        real.publish(subject, enc.encode("{}"));
      real.publish("agent-src.c1.S.abc", enc.encode("{}"));
      await real.flush();
      await sleep(300);
      sub.unsubscribe();
      expect(received).to.deep.equal(["agent-src.c1.S.abc"]);
      expect(violations).to.include("PERMISSIONS_VIOLATION");
      let denied: unknown;
      real.subscribe("$JS.leaf-c2.API.CONSUMER.CREATE.STACKYARD_LEAF_EVENTS", {
        callback: (err) => {
          if (err) denied = err;
        },
      });
      await real.flush();
      await sleep(200);
      expect(String(denied)).to.match(/Permissions Violation for Subscription/);
    } finally {
      await real.close();
    }
  });
});
