/**
 * Tenant isolation on the bus, against the real nats-server: every org has its own account (nats/org-accounts.ts),
 * and what an agent or integration user of org A can do is checked against every subject family of org B and of
 * the control plane. Three users of org A are tried: its agent and its integration user (their real permissions),
 * and a user of A's account allowed everything (`>`), which proves the account boundary holds even for a credential
 * minted with the wrong permissions. Absence is proven with a sentinel: after the forbidden attempts, the same
 * connection does the allowed thing, and when that arrives, whatever crossed would have arrived before it.
 */
import { expect } from "chai";
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import {
  connect,
  credsAuthenticator,
  RetentionPolicy,
  StorageType,
  type Msg,
  type NatsConnection,
  type Subscription,
} from "nats";
import { encodeAppAccount } from "./identity.js";
import { mintUserCreds, type MintUserOptions } from "./credentials.js";
import {
  DEFAULT_ORG_ACCOUNT_LIMITS,
  encodeOrgAccount,
  encodeAccountSeed,
  orgAccountKeys,
  orgUserIssuer,
  pushAccountJwt,
  type OrgAccountLimits,
} from "./org-accounts.js";
import { rawSeedOf } from "./fast-signer.js";
import { createAccount } from "nats-jwt";
import { agentInboxPrefix, agentUserJwtOptions, commandRequestOptions } from "./protocol/subjects.js";
import { integrationSubjects, integrationUserJwtOptions } from "./protocol/integration-subjects.js";
import { startTestNatsServer, type TestNatsServer } from "../services/_shared/testing/nats-server.js";

const enc = new TextEncoder();
const dec = new TextDecoder();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const ORG_A = randomUUID();
const ORG_B = randomUUID();
const ORG_C = randomUUID();
const CLUSTER_A = randomUUID();
const CLUSTER_B = randomUUID();
const EVENTS_STREAM = "STACKYARD_AGENT_EVENTS";

/** Collects what one subscription receives, and resolves `until(subject)` once that subject arrived. */
function collector(nc: NatsConnection, subject: string, opts: { respond?: (m: Msg) => void } = {}) {
  const received: string[] = [];
  const waiters: Array<{ subject: string; resolve: () => void }> = [];
  const errors: string[] = [];
  const sub: Subscription = nc.subscribe(subject, {
    callback: (err, msg) => {
      if (err) {
        errors.push(String(err));
        return;
      }
      received.push(msg.subject);
      opts.respond?.(msg);
      for (const w of waiters.filter((w) => w.subject === msg.subject)) w.resolve();
    },
  });
  return {
    received,
    errors,
    sub,
    until: (s: string) =>
      received.includes(s) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ subject: s, resolve })),
  };
}

/** Every permission violation and async error the server reports on a connection. */
function watchErrors(nc: NatsConnection): string[] {
  const seen: string[] = [];
  void (async () => {
    for await (const status of nc.status()) if (status.type === "error") seen.push(String(status.data));
  })();
  return seen;
}

describe("org accounts: tenant isolation enforced by nats-server (real server)", function () {
  this.timeout(60_000);
  let server: TestNatsServer;
  let cp: NatsConnection;
  let sys: NatsConnection;
  const open: NatsConnection[] = [];

  const connectAs = async (creds: string, extra: { inboxPrefix?: string; name?: string } = {}) => {
    const nc = await connect({
      servers: server.url,
      tls: server.tls,
      reconnect: false,
      timeout: 5_000,
      authenticator: credsAuthenticator(enc.encode(creds)),
      ...extra,
    });
    open.push(nc);
    return nc;
  };

  const mintIn = async (
    orgId: string,
    opts: Omit<MintUserOptions, "userPublicKey" | "appAccountPublicKey" | "appSigningSeed">,
  ) => (await mintUserCreds({ ...opts, ...orgUserIssuer(server.identity, orgId) })).creds;

  const pushOrg = async (orgId: string, clusterIds: string[], limits: Partial<OrgAccountLimits> = {}) =>
    pushAccountJwt(
      sys,
      await encodeOrgAccount(server.identity, {
        orgId,
        clusterIds,
        revocations: {},
        limits: { ...DEFAULT_ORG_ACCOUNT_LIMITS, ...limits },
      }),
    );

  const allowAll = { publish: [">"], subscribe: [">"] };

  before(async () => {
    server = await startTestNatsServer();
    cp = await connect({
      servers: server.url,
      tls: server.tls,
      authenticator: credsAuthenticator(await readFile(server.controlPlaneCredsFile)),
    });
    sys = await connect({
      servers: server.url,
      tls: server.tls,
      authenticator: credsAuthenticator(await readFile(server.systemCredsFile)),
    });
    // The application account with its exports first (imports of an export the server does not know are void).
    await sleep(1_100);
    await pushAccountJwt(sys, await encodeAppAccount(server.identity));
    await pushOrg(ORG_A, [CLUSTER_A]);
    await pushOrg(ORG_B, [CLUSTER_B]);
    const jsm = await cp.jetstreamManager();
    await jsm.streams.add({
      name: EVENTS_STREAM,
      subjects: ["agent-events.>"],
      retention: RetentionPolicy.Limits,
      storage: StorageType.Memory,
    });
  });

  after(async () => {
    for (const nc of open) await nc.close().catch(() => undefined);
    await cp?.close();
    await sys?.close();
    await server?.stop();
  });

  it("derives each org's keys from the operator seed, the same every time and different per org", () => {
    const a = orgAccountKeys(server.identity, ORG_A);
    const again = orgAccountKeys({ operatorSeed: server.identity.operatorSeed }, ORG_A);
    const b = orgAccountKeys(server.identity, ORG_B);
    expect(a.accountPublicKey).to.match(/^A[A-Z2-7]{55}$/);
    expect(again).to.deep.equal(a);
    expect(b.accountPublicKey).to.not.equal(a.accountPublicKey);
    expect(a.signingPublicKey).to.not.equal(a.accountPublicKey);
    const seed = new TextDecoder().decode(createAccount().getSeed());
    expect(encodeAccountSeed(rawSeedOf(seed))).to.equal(seed);
  });

  describe("what an org's agent and integration user may do", () => {
    let agentA: NatsConnection;
    let integA: NatsConnection;

    before(async () => {
      agentA = await connectAs(await mintIn(ORG_A, agentUserJwtOptions(CLUSTER_A)), {
        inboxPrefix: agentInboxPrefix(CLUSTER_A),
      });
      integA = await connectAs(await mintIn(ORG_A, integrationUserJwtOptions(ORG_A, randomUUID())));
    });

    it("carries the agent's heartbeat into the control plane's account", async () => {
      const seen = collector(cp, "agent.>");
      await cp.flush();
      agentA.publish(`agent.${CLUSTER_A}.heartbeat`, enc.encode("{}"));
      await seen.until(`agent.${CLUSTER_A}.heartbeat`);
      seen.sub.unsubscribe();
    });

    it("answers the agent's requests to the control plane (renewal) on its own inbox", async () => {
      const responder = collector(cp, `agent.${CLUSTER_A}.renew`, { respond: (m) => m.respond(enc.encode("renewed")) });
      await cp.flush();
      const reply = await agentA.request(`agent.${CLUSTER_A}.renew`, enc.encode("{}"), { timeout: 5_000 });
      expect(dec.decode(reply.data)).to.equal("renewed");
      responder.sub.unsubscribe();
    });

    it("stores the agent's deployment event in the control plane's stream and returns the JetStream ack", async () => {
      const reply = await agentA.request(`agent-events.${CLUSTER_A}.d1`, enc.encode('{"seq":1}'), { timeout: 5_000 });
      const ack = JSON.parse(dec.decode(reply.data)) as { stream?: string; seq?: number };
      expect(ack.stream).to.equal(EVENTS_STREAM);
      expect(ack.seq).to.be.a("number");
    });

    it("delivers a command to the agent and its reply back to the control plane", async () => {
      const commands = collector(agentA, `cmd.${CLUSTER_A}.>`, {
        respond: (m) => {
          if (m.reply) agentA.publish(m.reply, enc.encode("done"));
        },
      });
      await agentA.flush();
      const commandId = randomUUID();
      const reply = await cp.request(
        `cmd.${CLUSTER_A}.GetStatus`,
        enc.encode("{}"),
        commandRequestOptions(CLUSTER_A, commandId, 5_000),
      );
      expect(dec.decode(reply.data)).to.equal("done");
      expect(commands.received).to.deep.equal([`cmd.${CLUSTER_A}.GetStatus`]);
      commands.sub.unsubscribe();
    });

    it("delivers exec input to the agent", async () => {
      const input = collector(agentA, `exec-in.${CLUSTER_A}.>`);
      await agentA.flush();
      cp.publish(`exec-in.${CLUSTER_A}.s1`, enc.encode("ls\n"));
      await input.until(`exec-in.${CLUSTER_A}.s1`);
      input.sub.unsubscribe();
    });

    it("delivers the org's integration events to its integration user", async () => {
      const events = collector(integA, integrationSubjects.orgWildcard(ORG_A));
      await integA.flush();
      const subject = integrationSubjects.deployment(ORG_A, randomUUID(), "created");
      cp.publish(subject, enc.encode("{}"));
      await events.until(subject);
      events.sub.unsubscribe();
    });
  });

  describe("the denial matrix: org A against org B and the control plane", () => {
    let agentB: NatsConnection;
    let integB: NatsConnection;
    const users: Array<{ label: string; creds: () => Promise<string>; inboxPrefix?: string }> = [
      {
        label: "org A's agent",
        creds: () => mintIn(ORG_A, agentUserJwtOptions(CLUSTER_A)),
        inboxPrefix: agentInboxPrefix(CLUSTER_A),
      },
      { label: "org A's integration user", creds: () => mintIn(ORG_A, integrationUserJwtOptions(ORG_A, randomUUID())) },
      {
        label: "a user of org A's account allowed everything",
        creds: () => mintIn(ORG_A, { name: "rogue", permissions: allowAll, allowResponses: true }),
      },
    ];

    before(async () => {
      agentB = await connectAs(await mintIn(ORG_B, agentUserJwtOptions(CLUSTER_B)), {
        inboxPrefix: agentInboxPrefix(CLUSTER_B),
      });
      integB = await connectAs(await mintIn(ORG_B, integrationUserJwtOptions(ORG_B, randomUUID())));
    });

    for (const user of users) {
      describe(user.label, () => {
        let nc: NatsConnection;

        before(async () => {
          nc = await connectAs(await user.creds(), user.inboxPrefix ? { inboxPrefix: user.inboxPrefix } : {});
        });

        it("publishes nothing into org B's or the control plane's subjects", async () => {
          const atCp = collector(cp, ">");
          const atAgentB = collector(agentB, `cmd.${CLUSTER_B}.>`);
          const atAgentBInbox = collector(agentB, `${agentInboxPrefix(CLUSTER_B)}.>`);
          const atIntegB = collector(integB, integrationSubjects.orgWildcard(ORG_B));
          await Promise.all([cp.flush(), agentB.flush(), integB.flush()]);
          const forbidden = [
            // org B's agent subjects, as seen by the control plane
            `agent.${CLUSTER_B}.heartbeat`,
            `agent.${CLUSTER_B}.inventory`,
            `agent.${CLUSTER_B}.renew`,
            `agent.${CLUSTER_B}.reply.${randomUUID()}`,
            `agent.${CLUSTER_B}.logs.f1`,
            `agent-events.${CLUSTER_B}.d1`,
            `agent-src.${CLUSTER_B}.S.x`,
            // what only the control plane publishes
            `cmd.${CLUSTER_B}.DeployStack`,
            `exec-in.${CLUSTER_B}.s1`,
            `${agentInboxPrefix(CLUSTER_B)}.x`,
            integrationSubjects.deployment(ORG_B, randomUUID(), "succeeded"),
            integrationSubjects.deployment(ORG_A, randomUUID(), "succeeded"),
            // the control plane's own families
            "deploy.jobs.x",
            "MOL.REQ.node-1",
            "MOL.DISCOVER",
            `$JS.API.STREAM.DELETE.${EVENTS_STREAM}`,
            "$JS.API.STREAM.LIST",
            `$JS.leaf-${CLUSTER_B}.API.CONSUMER.CREATE.STACKYARD_LEAF_EVENTS`,
            "$SYS.REQ.SERVER.PING",
            "$KV.x.y",
          ];
          for (const subject of forbidden) nc.publish(subject, enc.encode("{}"));
          // The sentinel: for a user that may publish something, its allowed path; else a flush.
          const sentinel = user.label.includes("integration") ? null : `agent.${CLUSTER_A}.heartbeat`;
          if (sentinel) {
            nc.publish(sentinel, enc.encode("{}"));
            await atCp.until(sentinel);
          } else {
            await nc.flush();
            await sleep(300);
          }
          await Promise.all([agentB.flush(), integB.flush(), cp.flush()]);
          expect(atCp.received.filter((s) => s !== sentinel && !s.startsWith("_INBOX."))).to.deep.equal([]);
          expect(atAgentB.received).to.deep.equal([]);
          expect(atAgentBInbox.received).to.deep.equal([]);
          expect(atIntegB.received).to.deep.equal([]);
          for (const c of [atCp, atAgentB, atAgentBInbox, atIntegB]) c.sub.unsubscribe();
        });

        it("receives nothing of org B's or the control plane's traffic, whatever it subscribes to", async () => {
          const wildcards = [
            ">",
            "agent.>",
            `agent.${CLUSTER_B}.>`,
            "agent-events.>",
            `cmd.${CLUSTER_B}.>`,
            `exec-in.${CLUSTER_B}.>`,
            `${agentInboxPrefix(CLUSTER_B)}.>`,
            "stackyard.>",
            integrationSubjects.orgWildcard(ORG_B),
            "deploy.jobs.>",
            "MOL.>",
            "$JS.>",
            "$SYS.>",
            "_INBOX.>",
          ];
          const seen = wildcards.map((w) => collector(nc, w));
          await nc.flush();
          await sleep(100);
          // Org B's and the control plane's traffic, on every path.
          agentB.publish(`agent.${CLUSTER_B}.heartbeat`, enc.encode("{}"));
          await agentB.request(`agent-events.${CLUSTER_B}.d1`, enc.encode("{}"), { timeout: 5_000 });
          cp.publish(`cmd.${CLUSTER_B}.DeployStack`, enc.encode("{}"));
          cp.publish(`exec-in.${CLUSTER_B}.s1`, enc.encode("{}"));
          cp.publish(integrationSubjects.deployment(ORG_B, randomUUID(), "created"), enc.encode("{}"));
          cp.publish("deploy.jobs.x", enc.encode("{}"));
          cp.publish("MOL.DISCOVER", enc.encode("{}"));
          const jsm = await cp.jetstreamManager();
          await jsm.streams.info(EVENTS_STREAM);
          await sys.request("$SYS.REQ.SERVER.PING", enc.encode(""), { timeout: 5_000 });
          // The sentinel: org A's own integration event, which the agent's and the rogue's `>` and the integration
          // user's org wildcard all receive.
          const sentinel = integrationSubjects.deployment(ORG_A, randomUUID(), "created");
          cp.publish(sentinel, enc.encode("{}"));
          const canSeeSentinel = seen.filter((_, i) => {
            const w = wildcards[i]!;
            return user.label.includes("everything") ? w === ">" || w === "stackyard.>" : false;
          });
          if (canSeeSentinel.length > 0) await Promise.all(canSeeSentinel.map((c) => c.until(sentinel)));
          else {
            await Promise.all([cp.flush(), nc.flush()]);
            await sleep(300);
          }
          const leaked = seen.flatMap((c, i) =>
            c.received.filter((s) => s !== sentinel).map((s) => `${wildcards[i]} ← ${s}`),
          );
          // A's own sys-imported answers are not B's; nothing else may arrive.
          expect(leaked).to.deep.equal([]);
          for (const c of seen) c.sub.unsubscribe();
        });

        it("gets no answer from the control plane's JetStream, the system account or org B's agent", async () => {
          const answers: string[] = [];
          const tries = [
            "$JS.API.INFO",
            `$JS.API.STREAM.INFO.${EVENTS_STREAM}`,
            `$JS.API.CONSUMER.LIST.${EVENTS_STREAM}`,
            "$SYS.REQ.SERVER.PING",
            "$SYS.REQ.SERVER.PING.CONNZ",
            `$SYS.REQ.ACCOUNT.${orgAccountKeys(server.identity, ORG_B).accountPublicKey}.CONNZ`,
            `cmd.${CLUSTER_B}.GetStatus`,
          ];
          const responder = collector(agentB, `cmd.${CLUSTER_B}.>`, { respond: (m) => m.respond(enc.encode("B")) });
          await agentB.flush();
          for (const subject of tries) {
            try {
              const reply = await nc.request(subject, enc.encode("{}"), { timeout: 1_000 });
              answers.push(`${subject} → ${dec.decode(reply.data)}`);
            } catch {
              // no responders, timeout or permission violation: refused
            }
          }
          responder.sub.unsubscribe();
          // What a non-system account may get: JetStream's "not enabled for this account" error, and from
          // `$SYS.REQ.SERVER.PING.CONNZ` the listing of its own account. Anything naming the control plane's stream,
          // org B's account, the control-plane user, server statistics, or org B's agent's answer is a leak.
          const bAccount = orgAccountKeys(server.identity, ORG_B).accountPublicKey;
          const leaks = answers.filter(
            (a) =>
              a.includes(`"${EVENTS_STREAM}"`) ||
              a.includes(bAccount) ||
              a.includes("controlplane") ||
              a.includes('"statsz"') ||
              a.endsWith("→ B"),
          );
          expect(leaks).to.deep.equal([]);
          expect(responder.received).to.deep.equal([]);
        });
      });
    }

    it("reports the refused publishes and subscriptions of org A's real credentials as permission violations", async () => {
      const nc = await connectAs(await mintIn(ORG_A, agentUserJwtOptions(CLUSTER_A)), {
        inboxPrefix: agentInboxPrefix(CLUSTER_A),
      });
      const errors = watchErrors(nc);
      const sub = collector(nc, `cmd.${CLUSTER_B}.>`);
      nc.publish(`agent.${CLUSTER_B}.heartbeat`, enc.encode("{}"));
      await nc.flush();
      await sleep(200);
      expect(errors).to.include("PERMISSIONS_VIOLATION");
      expect(sub.errors.join(" ")).to.match(/Permissions Violation for Subscription/);
    });
  });

  describe("per-account limits", () => {
    const ofC: NatsConnection[] = [];
    const connectC = async (
      opts: Omit<MintUserOptions, "userPublicKey" | "appAccountPublicKey" | "appSigningSeed">,
    ) => {
      const nc = await connectAs(await mintIn(ORG_C, opts));
      ofC.push(nc);
      return nc;
    };

    before(async () => {
      await pushOrg(ORG_C, [], { conn: 2, subs: 4, payload: 1024 });
    });

    afterEach(async () => {
      for (const nc of ofC.splice(0)) await nc.close().catch(() => undefined);
    });

    it("refuses an org's connection over its account's connection limit, and no other org's", async () => {
      await connectC(integrationUserJwtOptions(ORG_C, randomUUID()));
      await connectC(integrationUserJwtOptions(ORG_C, randomUUID()));
      let refused: unknown;
      try {
        await connectC(integrationUserJwtOptions(ORG_C, randomUUID()));
      } catch (err) {
        refused = err;
      }
      expect(String(refused)).to.match(/maximum account active connections|connections exceeded/i);
      // Org A's account has its own budget.
      const other = await connectAs(await mintIn(ORG_A, integrationUserJwtOptions(ORG_A, randomUUID())));
      await other.close();
    });

    it("refuses subscriptions over the account's subscription limit", async () => {
      const nc = await connectC({ name: "subs", permissions: allowAll });
      const errors = watchErrors(nc);
      const subs = [1, 2, 3, 4, 5].map((i) => collector(nc, `s.${i}`));
      await nc.flush();
      // The server refuses the fifth (-ERR 'Maximum Subscriptions Exceeded', a protocol error to nats.js): a
      // message for it never arrives, while one for the first does, after it on the same connection.
      nc.publish("s.5", enc.encode("x"));
      nc.publish("s.1", enc.encode("x"));
      await subs[0]!.until("s.1");
      expect(subs[4]!.received).to.deep.equal([]);
      expect(errors.join(" ")).to.match(/NATS_PROTOCOL_ERR|maximum subscriptions/i);
    });

    it("caps an org's messages at its account's payload limit", async () => {
      const nc = await connectC({ name: "big", permissions: allowAll });
      // The server tells the client the account's limit (not its own 1 MiB) and refuses more.
      expect(nc.info?.max_payload).to.equal(1024);
      expect(() => nc.publish("anything", new Uint8Array(4096))).to.throw(/MAX_PAYLOAD_EXCEEDED/);
      nc.publish("anything", new Uint8Array(512));
      await nc.flush();
    });

    it("gives an org's account no JetStream on the hub", async () => {
      const nc = await connectC({ name: "js", permissions: allowAll, allowResponses: true });
      const answer = await nc
        .request("$JS.API.INFO", enc.encode(""), { timeout: 2_000 })
        .then((m) => dec.decode(m.data))
        .catch((err: unknown) => String(err));
      expect(answer).to.not.match(/"type":"io.nats.jetstream.api.v1.account_info_response","memory"/);
      expect(answer).to.match(/503|no responders|not enabled|TIMEOUT/i);
    });
  });
});
