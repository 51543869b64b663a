/**
 * Integration credentials and the event catalogue against the real control plane, Postgres and nats-server: who may
 * create them, what the server lets them do (a denial matrix), that an org's credential sees its own deployments and
 * nothing of another org, revocation and expiry, every published message against openapi/asyncapi.yaml, a canary
 * secret never published, and the subscriber of docs/integrations.md run as written.
 */
import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { connect, credsAuthenticator, type NatsConnection, type Status } from "nats";
import type { Db } from "../_shared/db.js";
import { createOrgWithAdmin, createUserWithRole, uniqueName, type TestOrg } from "../_shared/testing/fixtures.js";
import { startFakeAgent, type FakeAgent } from "../_shared/testing/fake-agent.js";
import type { ContractClient } from "../_shared/testing/http.js";
import type { TestNatsServer } from "../_shared/testing/nats-server.js";
import type { TestPlatform } from "../_shared/testing/platform.js";
import { startTestStack, stopTestStack } from "../_shared/testing/stack.js";
import { sleep, until } from "../_shared/testing/wait.js";
import { loadCatalogue } from "../_shared/testing/asyncapi.js";
import { EXAMPLE_MESSAGES } from "../../nats/protocol/examples.js";
import { agentSubjects } from "../../nats/protocol/subjects.js";
import type { DeployStack } from "../../nats/protocol/commands/DeployStack.js";
import type { CommandEnvelope } from "../../nats/protocol/messages.js";

const enc = new TextEncoder();
const dec = new TextDecoder();
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CANARY_SECRET = "canary-secret-value-7f3a91";
const CANARY_VARIABLE = "canary-variable-value-2c8e44";
/** The body of the denial matrix's probe messages: not events. */
const PROBE = '"probe"';

interface Created {
  credential: { id: string; name: string; publicKey: string; subjects: string; status: string };
  creds: string;
  natsUrls: string[];
  natsCa?: string;
}

interface Observed {
  subject: string;
  text: string;
}

interface OrgFixture {
  org: TestOrg;
  agent: FakeAgent;
  stackId: string;
  envId: string;
  releaseId: string;
}

describe("integration credentials and events (real gateway, Postgres, nats-server)", function () {
  this.timeout(90_000);
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let db: Db;
  let api: ContractClient;
  let a: OrgFixture;
  let b: OrgFixture;
  /** The control plane's own view of everything published under `stackyard.>` during the suite. */
  let observer: NatsConnection;
  const observed: Observed[] = [];
  const catalogue = loadCatalogue();
  const open: NatsConnection[] = [];

  async function setupOrg(name: string): Promise<OrgFixture> {
    const org = await createOrgWithAdmin(api);
    const agent = await startFakeAgent(api, nats.url, { orgId: org.orgId, auth: org.admin.auth }, `${name}-c`);
    const start = (command: CommandEnvelope) => {
      const p = command.payload as unknown as DeployStack;
      setTimeout(() => {
        void (async () => {
          await agent.emit(p.deploymentId, p.firstSeq, "Creating service web_app");
          await agent.emit(p.deploymentId, p.firstSeq + 1, "converged", { outcome: "succeeded" });
        })();
      }, 50);
      return { deploymentId: p.deploymentId, status: "started" };
    };
    agent.handlers.set("DeployStack", start);
    const stack = await api.request<{ id: string }>("POST", `/v1/orgs/${org.orgId}/stacks`, {
      body: { name: uniqueName(name).replace(/[^a-z0-9-]/g, "") },
      headers: org.admin.auth,
    });
    const env = await api.request<{ id: string }>("POST", `/v1/stacks/${stack.body.id}/environments`, {
      body: { name: "prod", clusterId: agent.clusterId },
      headers: org.admin.auth,
    });
    const release = await api.request<{ id: string }>("POST", `/v1/stacks/${stack.body.id}/releases`, {
      body: { sourceType: "upload", composeYaml: "services:\n  app:\n    image: nginx:1.27\n" },
      headers: org.admin.auth,
    });
    expect(release.status).to.equal(201);
    return { org, agent, stackId: stack.body.id, envId: env.body.id, releaseId: release.body.id };
  }

  async function createCredential(f: OrgFixture, body: Record<string, unknown> = { name: "bridge" }) {
    const res = await api.request<Created>("POST", `/v1/orgs/${f.org.orgId}/integration-credentials`, {
      body,
      headers: f.org.admin.auth,
    });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return res.body;
  }

  async function connectWith(created: Created, opts: { reconnect?: boolean } = {}): Promise<NatsConnection> {
    const nc = await connect({
      servers: created.natsUrls,
      authenticator: credsAuthenticator(enc.encode(created.creds)),
      tls: created.natsCa ? { ca: created.natsCa } : {},
      reconnect: opts.reconnect ?? false,
    });
    open.push(nc);
    return nc;
  }

  async function deploy(f: OrgFixture): Promise<string> {
    const res = await api.request<{ id: string }>("POST", `/v1/environments/${f.envId}/deployments`, {
      body: { releaseId: f.releaseId },
      headers: f.org.admin.auth,
    });
    expect(res.status).to.equal(202);
    return res.body.id;
  }

  const waitSucceeded = (f: OrgFixture, id: string) =>
    until(`deployment ${id} SUCCEEDED`, async () => {
      const res = await api.get<{ status: string }>(`/v1/deployments/${id}`, f.org.admin.auth);
      return res.body.status === "SUCCEEDED" ? true : undefined;
    });

  /** Collects what a subscription receives, as parsed envelopes with their subjects. */
  function collect(nc: NatsConnection, subject: string) {
    const got: Array<{ subject: string; event: { type: string; orgId: string; data: Record<string, unknown> } }> = [];
    const sub = nc.subscribe(subject, {
      callback: (err, msg) => {
        if (!err) got.push({ subject: msg.subject, event: JSON.parse(dec.decode(msg.data)) });
      },
    });
    return { got, sub };
  }

  /** Every permission violation the server reports on a connection. */
  function violations(nc: NatsConnection): Status[] {
    const seen: Status[] = [];
    void (async () => {
      for await (const s of nc.status()) if (s.type === "error") seen.push(s);
    })();
    return seen;
  }

  before(async () => {
    ({ db, nats, platform, api } = await startTestStack({ CLUSTER_OFFLINE_AFTER_SECONDS: "5" }));
    observer = await connect({
      servers: nats.url,
      tls: nats.tls,
      authenticator: credsAuthenticator(await readFile(nats.controlPlaneCredsFile)),
    });
    observer.subscribe("stackyard.>", {
      callback: (_err, msg) => observed.push({ subject: msg.subject, text: dec.decode(msg.data) }),
    });
    await observer.flush();
    a = await setupOrg("orga");
    b = await setupOrg("orgb");
  });
  after(async () => {
    for (const nc of open) await nc.close().catch(() => undefined);
    await a?.agent.close();
    await b?.agent.close();
    await observer?.close();
    await stopTestStack({ db, nats, platform });
  });

  it("lets only an ORG_ADMIN create and list credentials; the seed is in the create response only", async () => {
    const clusterAdmin = await createUserWithRole(api, a.org, "CLUSTER_ADMIN");
    const viewer = await createUserWithRole(api, a.org, "VIEWER");
    for (const user of [clusterAdmin, viewer]) {
      const create = await api.request("POST", `/v1/orgs/${a.org.orgId}/integration-credentials`, {
        body: { name: "nope" },
        headers: user.auth,
      });
      expect(create.status).to.equal(403);
      expect((await api.get(`/v1/orgs/${a.org.orgId}/integration-credentials`, user.auth)).status).to.equal(403);
    }
    const created = await createCredential(a, { name: "pagerduty" });
    expect(created.creds).to.match(/^-----BEGIN NATS USER JWT-----/);
    expect(created.credential.subjects).to.equal(`stackyard.${a.org.orgId}.>`);
    expect(created.natsCa).to.equal(nats.caPem);
    const seed = /^(SU[A-Z2-7]{56})$/m.exec(created.creds)?.[1];
    expect(seed, "the creds hold a user seed").to.be.a("string");

    const list = await api.get<{ items: Array<Record<string, unknown>> }>(
      `/v1/orgs/${a.org.orgId}/integration-credentials`,
      a.org.admin.auth,
    );
    expect(list.body.items.map((i) => i.id)).to.include(created.credential.id);
    expect(JSON.stringify(list.body)).not.to.include(seed);
    // Neither the row nor its audit event holds the seed.
    const row = await db("integration_credentials").where({ id: created.credential.id }).first();
    expect(row.public_nkey).to.equal(created.credential.publicKey);
    expect(JSON.stringify(row)).not.to.include(seed);
    const audit = await db("audit_events").where({
      action: "integration_credential.create",
      target_id: created.credential.id,
    });
    expect(audit).to.have.length(1);
    expect(JSON.stringify(audit)).not.to.include(seed);
    // Another org cannot see or revoke it.
    const foreign = await api.request(
      "DELETE",
      `/v1/orgs/${b.org.orgId}/integration-credentials/${created.credential.id}`,
      {
        headers: b.org.admin.auth,
      },
    );
    expect(foreign.status).to.equal(404);
    const past = await api.request<{ error: { code: string } }>(
      "POST",
      `/v1/orgs/${a.org.orgId}/integration-credentials`,
      { body: { name: "old", expiresAt: new Date(Date.now() - 1000).toISOString() }, headers: a.org.admin.auth },
    );
    expect(past.status).to.equal(422);
    expect(past.body.error.code).to.equal("EXPIRY_IN_PAST");
  });

  it("delivers org A's deployment events to A's credential, and nothing of org B", async () => {
    const nc = await connectWith(await createCredential(a));
    const mine = collect(nc, `stackyard.${a.org.orgId}.>`);
    await nc.flush();
    const idB = await deploy(b);
    const idA = await deploy(a);
    await waitSucceeded(a, idA);
    await waitSucceeded(b, idB);
    const statuses = await until("A's deployment events", async () => {
      const s = mine.got.filter((g) => g.event.data.id === idA).map((g) => g.subject);
      return s.some((x) => x.endsWith(".succeeded")) ? s : undefined;
    });
    expect(statuses).to.deep.equal(
      ["created", "started", "succeeded"].map((s) => `stackyard.${a.org.orgId}.deployments.${a.envId}.${s}`),
    );
    // B's deployment was published (the observer saw it), but never reached A's credential.
    await until("B's deployment published", async () =>
      observed.some((o) => o.subject === `stackyard.${b.org.orgId}.deployments.${b.envId}.succeeded`)
        ? true
        : undefined,
    );
    expect(mine.got.every((g) => g.subject.startsWith(`stackyard.${a.org.orgId}.`) && g.event.orgId === a.org.orgId)).to
      .be.true;
    expect(JSON.stringify(mine.got)).not.to.include(b.org.orgId);
    for (const g of mine.got) catalogue.check(g.subject, g.event);
  });

  it("refuses every subject beyond the org's events, for subscribing and for publishing (denial matrix)", async () => {
    const nc = await connectWith(await createCredential(a));
    const seen = violations(nc);
    const clusterB = b.agent.clusterId;
    const forbidden = [
      `stackyard.${b.org.orgId}.>`,
      `stackyard.${b.org.orgId}.deployments.${b.envId}.succeeded`,
      "stackyard.>",
      "stackyard.*.deployments.>",
      ">",
      "agent.>",
      `agent.${a.agent.clusterId}.heartbeat`,
      "agent-events.>",
      "cmd.>",
      `cmd.${clusterB}.DeployStack`,
      "$JS.>",
      "$JS.API.>",
      "deploy.jobs.>",
      "_INBOX.>",
      "$SYS.>",
      "MOL-stackyard.>",
    ];
    const subs = forbidden.map((s) => collect(nc, s));
    await nc.flush();
    await until("a violation per forbidden subscription", async () =>
      forbidden.every((s) =>
        seen.some((v) => v.permissionContext?.operation === "subscription" && v.permissionContext.subject === s),
      )
        ? true
        : undefined,
    );
    // The control plane publishes on subjects those patterns cover (harmless ones: nothing consumes them): nothing
    // arrives. The probes are not events, so the catalogue check below leaves them out.
    for (const s of [
      `stackyard.${b.org.orgId}.probe`,
      `agent.${a.agent.clusterId}.probe`,
      `cmd.${clusterB}.Probe`,
      "_INBOX.probe",
    ]) {
      observer.publish(s, enc.encode(PROBE));
    }
    await observer.flush();
    await sleep(300);
    expect(subs.flatMap((s) => s.got)).to.deep.equal([]);

    // Publishing anything is refused, its own org's subjects included; the server reports each and delivers none.
    const probe = collect(observer, ">");
    await observer.flush();
    const targets = [
      `stackyard.${a.org.orgId}.deployments.${a.envId}.succeeded`,
      `agent.${a.agent.clusterId}.heartbeat`,
      `agent-events.${a.agent.clusterId}.x`,
      `cmd.${clusterB}.DeployStack`,
      "$JS.API.INFO",
      "deploy.jobs.x",
    ];
    for (const t of targets) nc.publish(t, enc.encode(PROBE));
    await nc.flush();
    await until("a violation per publish", async () =>
      targets.every((t) =>
        seen.some((v) => v.permissionContext?.operation === "publish" && v.permissionContext.subject === t),
      )
        ? true
        : undefined,
    );
    await sleep(200);
    probe.sub.unsubscribe();
    expect(probe.got.filter((g) => targets.includes(g.subject))).to.deep.equal([]);
    expect(nc.isClosed(), "violations are not fatal: the connection stays").to.be.false;
  });

  it("disconnects a revoked credential within 5 s and refuses it afterwards", async () => {
    const created = await createCredential(a, { name: "to-revoke" });
    const nc = await connectWith(created);
    await nc.flush();
    const closed = nc.closed();
    const t0 = Date.now();
    const res = await api.request<{ status: string; revokedAt: string }>(
      "DELETE",
      `/v1/orgs/${a.org.orgId}/integration-credentials/${created.credential.id}`,
      { headers: a.org.admin.auth },
    );
    expect(res.status).to.equal(200);
    expect(res.body.status).to.equal("revoked");
    const outcome = await Promise.race([closed.then(() => "closed"), sleep(5_000).then(() => "still open")]);
    expect(outcome).to.equal("closed");
    expect(Date.now() - t0).to.be.below(5_000);
    let refused: unknown;
    await connectWith(created).catch((err: unknown) => (refused = err));
    expect(String(refused)).to.match(/Authorization Violation/i);
    const audit = await db("audit_events").where({
      action: "integration_credential.revoke",
      target_id: created.credential.id,
    });
    expect(audit).to.have.length(1);
    // Revoking again changes nothing and is not audited twice.
    const again = await api.request(
      "DELETE",
      `/v1/orgs/${a.org.orgId}/integration-credentials/${created.credential.id}`,
      {
        headers: a.org.admin.auth,
      },
    );
    expect(again.status).to.equal(200);
    expect(
      await db("audit_events").where({ action: "integration_credential.revoke", target_id: created.credential.id }),
    ).to.have.length(1);
  });

  it("refuses an expired credential", async () => {
    const created = await createCredential(a, { name: "short", expiresAt: new Date(Date.now() + 2_500).toISOString() });
    const live = await connectWith(created);
    await live.flush();
    await sleep(3_500);
    let refused: unknown;
    await connectWith(created).catch((err: unknown) => (refused = err));
    expect(String(refused)).to.match(/Authorization Violation|expired/i);
    const list = await api.get<{ items: Array<{ id: string; status: string }> }>(
      `/v1/orgs/${a.org.orgId}/integration-credentials`,
      a.org.admin.auth,
    );
    expect(list.body.items.find((i) => i.id === created.credential.id)?.status).to.equal("expired");
  });

  it("publishes releases, environment changes (names only), cluster status, Docker events, warnings and audit events, all as the catalogue says", async () => {
    const put = await api.request("PUT", `/v1/environments/${a.envId}/secrets/db_password`, {
      body: { value: CANARY_SECRET },
      headers: a.org.admin.auth,
    });
    expect(put.status).to.equal(201);
    const overlay = await api.request("PUT", `/v1/environments/${a.envId}/overlay`, {
      body: { envJson: { global: { API_KEY_HINT: CANARY_VARIABLE } }, composePatchYaml: "" },
      headers: a.org.admin.auth,
    });
    expect(overlay.status).to.equal(200);
    const subjects = agentSubjects(a.agent.clusterId);
    const now = Date.now();
    a.agent.nc.publish(
      subjects.heartbeat,
      enc.encode(JSON.stringify({ ...EXAMPLE_MESSAGES.Heartbeat, clusterId: a.agent.clusterId, sentAt: now })),
    );
    a.agent.nc.publish(
      subjects.dockerEvents,
      enc.encode(JSON.stringify({ ...EXAMPLE_MESSAGES.DockerEvent, clusterId: a.agent.clusterId, ts: now })),
    );
    a.agent.nc.publish(
      subjects.rejected,
      enc.encode(
        JSON.stringify({
          ...EXAMPLE_MESSAGES.CommandRejectionReport,
          clusterId: a.agent.clusterId,
          subject: `cmd.${a.agent.clusterId}.GetStatus`,
          ts: now,
        }),
      ),
    );
    const types = (org: string) =>
      observed
        .filter((o) => o.subject.startsWith(`stackyard.${org}.`))
        .map((o) => (JSON.parse(o.text) as { type: string }).type);
    const expected = [
      "release.created",
      "environment.created",
      "environment.secret_changed",
      "environment.overlay_changed",
      "cluster.online",
      "cluster.docker.service",
      "cluster.security_warning",
      "audit.recorded",
      "deployment.created",
      "deployment.succeeded",
    ];
    await until("every kind of event published", async () =>
      expected.every((t) => types(a.org.orgId).includes(t)) ? true : undefined,
    );
    // The agent stops heartbeating: the cluster goes offline after CLUSTER_OFFLINE_AFTER_SECONDS.
    await until(
      "cluster.offline",
      async () => (types(a.org.orgId).includes("cluster.offline") ? true : undefined),
      15_000,
    );
    const secretEvent = observed.find((o) => o.subject === `stackyard.${a.org.orgId}.environments.${a.envId}.secret`);
    expect(JSON.parse(secretEvent!.text).data.secret).to.deep.equal({
      name: "db_password",
      version: 1,
      action: "created",
    });
    const overlayEvent = observed.find((o) => o.subject === `stackyard.${a.org.orgId}.environments.${a.envId}.overlay`);
    expect(JSON.parse(overlayEvent!.text).data.globalVariables).to.deep.equal(["API_KEY_HINT"]);
    // Spec-first: every message published during the suite matches its channel's schema in asyncapi.yaml...
    const events = observed.filter((o) => o.text !== PROBE);
    expect(events.length).to.be.greaterThan(20);
    for (const o of events) catalogue.check(o.subject, JSON.parse(o.text));
    // ...and no secret or variable value was ever on the bus.
    for (const o of observed) {
      expect(o.text).not.to.include(CANARY_SECRET);
      expect(o.text).not.to.include(CANARY_VARIABLE);
    }
  });

  it("runs the subscriber of docs/integrations.md as written: it prints a real deployment's events", async () => {
    const doc = await readFile(join(ROOT, "docs/integrations.md"), "utf8");
    const snippet = /<!-- subscriber:begin -->\s*```js\n([\s\S]*?)```\s*<!-- subscriber:end -->/.exec(doc)?.[1];
    expect(snippet, "the snippet between the subscriber markers").to.be.a("string");
    expect(snippet!.trim().split("\n").length).to.be.at.most(22);
    const created = await createCredential(a, { name: "doc-snippet" });
    // Inside the checkout, so `import "nats"` resolves from its node_modules like `npm install nats` would.
    const dir = join(ROOT, ".state");
    const file = join(dir, `integrations-subscriber-${process.pid}.mjs`);
    const credsFile = join(dir, `integrations-subscriber-${process.pid}.creds`);
    const caFile = join(dir, `integrations-subscriber-${process.pid}.pem`);
    await writeFile(file, snippet!);
    await writeFile(credsFile, created.creds, { mode: 0o600 });
    await writeFile(caFile, created.natsCa!);
    let child: ChildProcess | undefined;
    let out = "";
    try {
      child = spawn(process.execPath, [file], {
        env: {
          PATH: process.env.PATH,
          NATS_URL: created.natsUrls[0],
          NATS_CREDS: credsFile,
          NATS_CA: caFile,
          ORG_ID: a.org.orgId,
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
      child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
      await until("the subscriber listening", async () => (out.includes("listening on") ? true : undefined), 20_000);
      const idB = await deploy(b);
      const id = await deploy(a);
      await waitSucceeded(a, id);
      await until(
        "the subscriber printing the succeeded deployment",
        async () => (out.includes(`deployment.succeeded deployment=${id} `) ? true : undefined),
        15_000,
      );
      expect(out).to.include(`deployment.created deployment=${id} environment=${a.envId} status=PENDING`);
      expect(out).to.include(`deployment.started deployment=${id} environment=${a.envId} status=RUNNING`);
      expect(out).to.include(`deployment.succeeded deployment=${id} environment=${a.envId} status=SUCCEEDED`);
      expect(out).not.to.include(idB);
    } finally {
      child?.kill("SIGTERM");
      await rm(file, { force: true });
      await rm(credsFile, { force: true });
      await rm(caFile, { force: true });
    }
  });
});
