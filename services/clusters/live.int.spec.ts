/**
 * Live updates over nats.ws through the gateway's `/v1/live`, against the real gateway, Postgres and nats-server:
 * a browser-style client (nats.ws on Node's WebSocket) with a live credential for its own key pair receives its
 * org's events, may subscribe only to what its role may read, publishes nothing, cannot use the JWT on a plain
 * NATS connection, and a foreign origin cannot open the proxy.
 */
import { expect } from "chai";
import { request as httpRequest } from "node:http";
import { connect as connectNats, jwtAuthenticator as natsJwtAuthenticator } from "nats";
import { connect, jwtAuthenticator, nkeys, type NatsConnection } from "nats.ws";
import { decode, type ClaimsData } from "nats-jwt";
import type { Db } from "../_shared/db.js";
import {
  createOrgWithAdmin,
  createUserWithRole,
  uniqueName,
  type TestOrg,
  type TestUser,
} from "../_shared/testing/fixtures.js";
import type { ContractClient } from "../_shared/testing/http.js";
import type { TestNatsServer } from "../_shared/testing/nats-server.js";
import type { TestPlatform } from "../_shared/testing/platform.js";
import { startTestStack, stopTestStack } from "../_shared/testing/stack.js";
import { sleep } from "../_shared/testing/wait.js";

interface LiveCredential {
  jwt: string;
  expiresAt: string;
  subjects: string[];
  path: string;
}

const dec = new TextDecoder();

describe("live updates over nats.ws through the gateway (real gateway, Postgres, nats-server)", function () {
  this.timeout(60_000);
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let db: Db;
  let api: ContractClient;
  let org: TestOrg;
  let viewer: TestUser;
  const open: NatsConnection[] = [];

  const liveUrl = (path: string) => `${platform.baseUrl.replace(/^http/, "ws")}${path}`;

  async function liveCredential(user: TestUser, orgId = org.orgId) {
    const key = nkeys.createUser();
    const res = await api.request<LiveCredential>("POST", `/v1/orgs/${orgId}/live-credentials`, {
      body: { publicKey: key.getPublicKey() },
      headers: user.auth,
    });
    return { res, seed: key.getSeed() };
  }

  async function connectLive(user: TestUser): Promise<{ nc: NatsConnection; credential: LiveCredential }> {
    const { res, seed } = await liveCredential(user);
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    const nc = await connect({ servers: liveUrl(res.body.path), authenticator: jwtAuthenticator(res.body.jwt, seed) });
    open.push(nc);
    return { nc, credential: res.body };
  }

  /** The first permission error the server reports on this connection, or null within `ms`. */
  async function permissionError(nc: NatsConnection, ms = 1_500): Promise<string | null> {
    const seen = (async () => {
      for await (const s of nc.status()) {
        if (s.type === "error") return String(s.data);
      }
      return null;
    })();
    return Promise.race([seen, sleep(ms).then(() => null)]);
  }

  before(async () => {
    ({ db, nats, platform, api } = await startTestStack());
    org = await createOrgWithAdmin(api);
    viewer = await createUserWithRole(api, org, "VIEWER");
  });
  after(async () => {
    await Promise.all(open.map((nc) => nc.close().catch(() => undefined)));
    await stopTestStack({ platform, nats, db });
  });

  it("hands a session a 5-minute JWT for its own public key, with the topics its role may read", async () => {
    const admin = await liveCredential(org.admin);
    expect(admin.res.status).to.equal(201);
    const ttl = Date.parse(admin.res.body.expiresAt) - Date.now();
    expect(ttl).to.be.within(290_000, 301_000);
    expect(admin.res.body.path).to.equal("/v1/live");
    expect(admin.res.body.subjects).to.have.members(
      ["deployments", "releases", "environments", "clusters", "audit"].map((t) => `stackyard.${org.orgId}.${t}.>`),
    );
    const asViewer = await liveCredential(viewer);
    expect(asViewer.res.body.subjects).to.not.include(`stackyard.${org.orgId}.audit.>`);
    expect(JSON.stringify(admin.res.body)).to.not.contain(admin.seed);
    const claims = decode(asViewer.res.body.jwt) as ClaimsData<{
      pub?: { allow: string[]; deny: string[] };
      allowed_connection_types: string[];
    }>;
    expect(claims.nats.allowed_connection_types).to.deep.equal(["WEBSOCKET"]);
    expect(claims.nats.pub?.deny).to.deep.equal([">"]);
    expect(claims.exp! - Math.floor(Date.now() / 1000)).to.be.within(295, 300);
  });

  it("renews for the same key, but never a key of another user", async () => {
    const key = nkeys.createUser();
    const body = { publicKey: key.getPublicKey() };
    const post = (user: TestUser) =>
      api.request("POST", `/v1/orgs/${org.orgId}/live-credentials`, { body, headers: user.auth });
    expect((await post(org.admin)).status).to.equal(201);
    expect((await post(org.admin)).status).to.equal(201);
    const taken = await post(viewer);
    expect(taken.status).to.equal(409);
    expect((taken.body as { error: { code: string } }).error.code).to.equal("LIVE_KEY_NOT_RENEWABLE");
  });

  it("refuses a malformed public key (422 with its path), no session (401) and another org (404)", async () => {
    const bad = await api.request("POST", `/v1/orgs/${org.orgId}/live-credentials`, {
      body: { publicKey: `U${"A".repeat(55)}` },
      headers: org.admin.auth,
    });
    expect(bad.status).to.equal(422);
    expect((bad.body as { error: { code: string } }).error.code).to.equal("INVALID_PUBLIC_KEY");
    const anonymous = await api.request("POST", `/v1/orgs/${org.orgId}/live-credentials`, {
      body: { publicKey: nkeys.createUser().getPublicKey() },
    });
    expect(anonymous.status).to.equal(401);
    const other = await createOrgWithAdmin(api);
    const foreign = await liveCredential(org.admin, other.orgId);
    expect(foreign.res.status).to.equal(404);
  });

  it("delivers the org's events to a nats.ws client on the gateway's origin", async () => {
    const { nc } = await connectLive(org.admin);
    const sub = nc.subscribe(`stackyard.${org.orgId}.releases.>`);
    await nc.flush();
    const stack = await api.request<{ id: string }>("POST", `/v1/orgs/${org.orgId}/stacks`, {
      body: { name: uniqueName("live").replace(/[^a-z0-9-]/g, "") },
      headers: org.admin.auth,
    });
    const started = Date.now();
    await api.request("POST", `/v1/stacks/${stack.body.id}/releases`, {
      body: { sourceType: "upload", composeYaml: "services:\n  app:\n    image: nginx:1.27\n" },
      headers: org.admin.auth,
    });
    const received = await Promise.race([
      (async () => {
        for await (const m of sub)
          return { subject: m.subject, body: JSON.parse(dec.decode(m.data)) as { type: string } };
        return null;
      })(),
      sleep(5_000).then(() => null),
    ]);
    expect(received, "no release event within 5 s").to.not.equal(null);
    expect(received!.subject).to.equal(`stackyard.${org.orgId}.releases.${stack.body.id}.created`);
    expect(received!.body.type).to.equal("release.created");
    expect(Date.now() - started).to.be.below(5_000);
  });

  it("lets a viewer subscribe to nothing it may not read, and nobody publish", async () => {
    const { nc } = await connectLive(viewer);
    const denied = permissionError(nc);
    nc.subscribe(`stackyard.${org.orgId}.audit.>`);
    expect(await denied).to.equal("PERMISSIONS_VIOLATION");

    const { nc: admin } = await connectLive(org.admin);
    const deniedPublish = permissionError(admin);
    admin.publish(`stackyard.${org.orgId}.releases.x.created`, new TextEncoder().encode("{}"));
    expect(await deniedPublish).to.equal("PERMISSIONS_VIOLATION");

    const other = await createOrgWithAdmin(api);
    const deniedOther = permissionError(admin);
    admin.subscribe(`stackyard.${other.orgId}.>`);
    expect(await deniedOther).to.equal("PERMISSIONS_VIOLATION");
  });

  it("a logout closes that session's live connection within 5 s, and only that one", async () => {
    const user = await createUserWithRole(api, org, "VIEWER");
    const key = nkeys.createUser();
    const res = await api.request<LiveCredential>("POST", `/v1/orgs/${org.orgId}/live-credentials`, {
      body: { publicKey: key.getPublicKey() },
      headers: user.auth,
    });
    const nc = await connect({
      servers: liveUrl(res.body.path),
      authenticator: jwtAuthenticator(res.body.jwt, key.getSeed()),
      maxReconnectAttempts: 3,
      reconnectTimeWait: 200,
    });
    open.push(nc);
    const other = await connectLive(org.admin);
    expect((await api.request("POST", "/v1/auth/logout", { headers: user.auth })).status).to.be.oneOf([200, 204]);
    const started = Date.now();
    const closed = await Promise.race([nc.closed().then(() => "closed"), sleep(5_000).then(() => "still open")]);
    expect(closed).to.equal("closed");
    console.log(`      live connection closed ${Date.now() - started} ms after the logout`);
    expect(other.nc.isClosed(), "another session's connection stays open").to.equal(false);
  });

  it("the JWT works only over WebSocket: a plain NATS connection with it is refused", async () => {
    const key = nkeys.createUser();
    const res = await api.request<LiveCredential>("POST", `/v1/orgs/${org.orgId}/live-credentials`, {
      body: { publicKey: key.getPublicKey() },
      headers: org.admin.auth,
    });
    let error: unknown;
    try {
      const nc = await connectNats({
        servers: nats.url,
        tls: nats.tls,
        authenticator: natsJwtAuthenticator(res.body.jwt, key.getSeed()),
        reconnect: false,
      });
      await nc.close();
    } catch (err) {
      error = err;
    }
    expect(String(error)).to.match(/authorization violation/i);
  });

  it("refuses an upgrade from another origin, and other paths", async () => {
    const upgrade = (path: string, origin: string) =>
      new Promise<number>((resolve, reject) => {
        const url = new URL(platform.baseUrl);
        const req = httpRequest({
          host: url.hostname,
          port: url.port,
          path,
          headers: {
            connection: "Upgrade",
            upgrade: "websocket",
            origin,
            "sec-websocket-version": "13",
            "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
          },
        });
        req.on("upgrade", (res, socket) => {
          socket.destroy();
          resolve(res.statusCode ?? 0);
        });
        req.on("response", (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on("error", reject);
        req.end();
      });
    expect(await upgrade("/v1/live", "https://evil.example")).to.equal(403);
    expect(await upgrade("/v1/other", platform.baseUrl)).to.equal(404);
    expect(await upgrade("/v1/live", platform.baseUrl)).to.equal(101);
  });
});
