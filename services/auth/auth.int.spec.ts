import { expect } from "chai";
import jwt from "jsonwebtoken";
import type { Db } from "../_shared/db.js";
import {
  createOrgWithAdmin,
  createUserWithRole,
  loginAs,
  TEST_PASSWORD,
  uniqueName,
  type TestOrg,
} from "../_shared/testing/fixtures.js";
import { ContractClient } from "../_shared/testing/http.js";
import { type TestNatsServer } from "../_shared/testing/nats-server.js";
import { TEST_BOOTSTRAP_TOKEN, TEST_JWT_SECRET, type TestPlatform } from "../_shared/testing/platform.js";
import { sleep } from "../_shared/testing/wait.js";
import { hashSecret } from "./passwords.js";
import type { ErrorBody as SharedErrorBody } from "../_shared/errors.js";
import { startTestStack, stopTestStack } from "../_shared/testing/stack.js";

type ErrorBody = Omit<SharedErrorBody, "error"> & {
  error: SharedErrorBody["error"] & { details?: Record<string, unknown> };
};

describe("identity: auth, orgs, users, tokens, audit (real gateway, Postgres, NATS)", function () {
  this.timeout(60_000);
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let db: Db;
  let api: ContractClient;
  let org: TestOrg;

  before(async () => {
    ({ db, nats, platform, api } = await startTestStack());
  });
  after(async () => {
    await stopTestStack({ db, nats, platform });
  });

  describe("first run and org creation", () => {
    it("lets anyone create the first org, whose creator becomes ORG_ADMIN", async () => {
      const res = await api.request<{ org: { id: string }; admin: { role: string } }>("POST", "/v1/orgs", {
        body: { name: "first", admin: { email: "Founder@Example.test", password: TEST_PASSWORD } },
      });
      expect(res.status).to.equal(201);
      expect(res.body.admin.role).to.equal("ORG_ADMIN");
      const me = await loginAs(api, "founder@example.test");
      expect(me.role).to.equal("ORG_ADMIN");
    });

    it("refuses a second org without the system bootstrap credential", async () => {
      const res = await api.request<ErrorBody>("POST", "/v1/orgs", {
        body: { name: "second", admin: { email: "x@example.test", password: TEST_PASSWORD } },
      });
      expect(res.status).to.equal(403);
      expect(res.body.error.code).to.equal("ORG_CREATION_FORBIDDEN");
      const wrong = await api.request<ErrorBody>("POST", "/v1/orgs", {
        body: { name: "second", admin: { email: "x@example.test", password: TEST_PASSWORD } },
        headers: { "x-bootstrap-token": TEST_BOOTSTRAP_TOKEN + "x" },
      });
      expect(wrong.status).to.equal(403);
    });

    it("creates further orgs with the bootstrap credential", async () => {
      org = await createOrgWithAdmin(api);
      expect(org.orgId).to.match(/^[0-9a-f-]{36}$/);
    });

    it("rejects a weak admin password with 422", async () => {
      const res = await api.request<ErrorBody>("POST", "/v1/orgs", {
        body: { name: uniqueName("weak"), admin: { email: "w@example.test", password: "short" } },
        headers: { "x-bootstrap-token": TEST_BOOTSTRAP_TOKEN },
      });
      expect(res.status).to.equal(422);
      expect(res.body.error.code).to.equal("WEAK_PASSWORD");
    });
  });

  describe("login", () => {
    it("answers unknown email and wrong password with the same 401", async () => {
      const unknown = await api.request<ErrorBody>("POST", "/v1/auth/login", {
        body: { email: "nobody@example.test", password: TEST_PASSWORD },
      });
      const wrong = await api.request<ErrorBody>("POST", "/v1/auth/login", {
        body: { email: org.admin.email, password: "wrong password!!" },
      });
      expect(unknown.status).to.equal(401);
      expect(wrong.status).to.equal(401);
      // The same answer, but for each request's own id.
      const withoutId = ({ error: { requestId: _id, ...rest } }: ErrorBody) => rest;
      expect(withoutId(unknown.body)).to.deep.equal(withoutId(wrong.body));
      expect(wrong.body.error.code).to.equal("INVALID_CREDENTIALS");
    });

    it("rejects a malformed body with 400 and names the problem", async () => {
      const res = await api.request<ErrorBody>("POST", "/v1/auth/login", {
        body: { email: "not-an-email", password: "x", extra: 1 },
      });
      expect(res.status).to.equal(400);
      expect(res.body.error.code).to.equal("VALIDATION_FAILED");
      const malformed = await fetch(`${platform.baseUrl}/v1/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{not json",
      });
      expect(malformed.status).to.equal(400);
    });

    it("refuses bodies over the size limit with 413", async () => {
      const res = await fetch(`${platform.baseUrl}/v1/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: "a@b.test", password: "x".repeat(2 * 1024 * 1024) }),
      });
      expect(res.status).to.equal(413);
      expect(((await res.json()) as ErrorBody).error.code).to.be.a("string");
    });

    it("throttles repeated failures per email with 429 and Retry-After", async () => {
      const target = await createUserWithRole(api, org, "VIEWER");
      const attempt = () =>
        api.request<ErrorBody>("POST", "/v1/auth/login", {
          body: { email: target.email, password: "wrong password!!" },
        });
      for (let i = 0; i < 5; i++) expect((await attempt()).status).to.equal(401);
      expect((await attempt()).status).to.equal(401); // the 6th failure is counted and locks
      const locked = await attempt();
      expect(locked.status).to.equal(429);
      expect(locked.body.error.code).to.equal("LOGIN_THROTTLED");
      expect(Number(locked.headers.get("retry-after"))).to.be.greaterThan(0);
      // Even the right password waits out the lock.
      const right = await api.request("POST", "/v1/auth/login", {
        body: { email: target.email, password: TEST_PASSWORD },
      });
      expect(right.status).to.equal(429);
    });
  });

  describe("access tokens", () => {
    it("returns the caller, role, permissions and orgs on /v1/auth/me", async () => {
      const res = await api.get<{ role: string; permissions: string[]; orgs: Array<{ id: string }> }>(
        "/v1/auth/me",
        org.admin.auth,
      );
      expect(res.status).to.equal(200);
      expect(res.body.role).to.equal("ORG_ADMIN");
      expect(res.body.permissions).to.include("users:write");
      expect(res.body.orgs.map((o) => o.id)).to.deep.equal([org.orgId]);
    });

    it("shows a session only its own org, though an admin elsewhere made an account for the same email", async () => {
      const victim = await createOrgWithAdmin(api); // the victim's own org, the oldest account of the email
      const attacker = await createOrgWithAdmin(api);
      const planted = "attacker's password 42!";
      const made = await api.request("POST", `/v1/orgs/${attacker.orgId}/users`, {
        body: { email: victim.admin.email, password: planted, role: "VIEWER" },
        headers: attacker.admin.auth,
      });
      expect(made.status).to.equal(201);
      // Logged in as the victim's email inside their own org, the attacker learns nothing of the victim's orgs.
      const asVictim = await loginAs(api, victim.admin.email, attacker.orgId, planted);
      const me = await api.get<{ orgs: Array<{ id: string }> }>("/v1/auth/me", asVictim.auth);
      expect(me.body.orgs.map((o) => o.id)).to.deep.equal([attacker.orgId]);
      const orgs = await api.get<{ items: Array<{ id: string }> }>("/v1/orgs", asVictim.auth);
      expect(orgs.body.items.map((o) => o.id)).to.deep.equal([attacker.orgId]);

      // Without an org, the password picks the account: never simply the oldest one of the email.
      const byPassword = await api.request<{ user: { orgId: string } }>("POST", "/v1/auth/login", {
        body: { email: victim.admin.email, password: planted },
      });
      expect(byPassword.status).to.equal(200);
      expect(byPassword.body.user.orgId).to.equal(attacker.orgId);

      // The same password opening two accounts: the caller chooses, and sees only the orgs it proved.
      const third = await createOrgWithAdmin(api);
      expect(
        (
          await api.request("POST", `/v1/orgs/${third.orgId}/users`, {
            body: { email: victim.admin.email, password: TEST_PASSWORD, role: "VIEWER" },
            headers: third.admin.auth,
          })
        ).status,
      ).to.equal(201);
      const ambiguous = await api.request<ErrorBody & { error: { details: { orgs: Array<{ id: string }> } } }>(
        "POST",
        "/v1/auth/login",
        { body: { email: victim.admin.email, password: TEST_PASSWORD } },
      );
      expect(ambiguous.status).to.equal(409);
      expect(ambiguous.body.error.code).to.equal("ORG_SELECTION_REQUIRED");
      expect(ambiguous.body.error.details.orgs.map((o) => o.id).sort()).to.deep.equal(
        [victim.orgId, third.orgId].sort(),
      );
    });

    it("answers a missing credential with 401 UNAUTHENTICATED", async () => {
      const res = await api.get<ErrorBody>("/v1/auth/me");
      expect(res.status).to.equal(401);
      expect(res.body.error.code).to.equal("UNAUTHENTICATED");
    });

    const forge = (claims: object, opts: jwt.SignOptions, secret: Buffer = TEST_JWT_SECRET) =>
      jwt.sign(claims, secret, {
        algorithm: "HS256",
        keyid: "test1",
        issuer: "stackyard",
        audience: "stackyard-api",
        ...opts,
      });

    it("answers an expired access token with 401 TOKEN_EXPIRED", async () => {
      const sid = (jwt.decode(org.admin.accessToken) as { sid: string }).sid;
      const expired = forge(
        { org: org.orgId, sid, exp: Math.floor(Date.now() / 1000) - 10 },
        { subject: org.admin.userId },
      );
      const res = await api.get<ErrorBody>("/v1/auth/me", { authorization: `Bearer ${expired}` });
      expect(res.status).to.equal(401);
      expect(res.body.error.code).to.equal("TOKEN_EXPIRED");
    });

    it("rejects tokens with another key, audience, issuer or the none algorithm", async () => {
      const sid = (jwt.decode(org.admin.accessToken) as { sid: string }).sid;
      const claims = { org: org.orgId, sid };
      const bad = [
        forge(claims, { subject: org.admin.userId, expiresIn: 60 }, Buffer.alloc(32, 1)),
        forge(claims, { subject: org.admin.userId, expiresIn: 60, audience: "other" }),
        forge(claims, { subject: org.admin.userId, expiresIn: 60, issuer: "evil" }),
        jwt.sign({ ...claims, sub: org.admin.userId, iss: "stackyard", aud: "stackyard-api" }, "", {
          algorithm: "none",
        }),
      ];
      for (const token of bad) {
        const res = await api.get<ErrorBody>("/v1/auth/me", { authorization: `Bearer ${token}` });
        expect(res.status, token).to.equal(401);
        expect(res.body.error.code).to.equal("INVALID_TOKEN");
      }
    });

    it("rotates refresh tokens, and a reused one revokes the whole session", async () => {
      const user = await loginAs(api, org.admin.email, org.orgId);
      const first = await api.request<{ accessToken: string; refreshToken: string }>("POST", "/v1/auth/refresh", {
        body: { refreshToken: user.refreshToken },
      });
      expect(first.status).to.equal(200);
      expect(first.body.refreshToken).to.not.equal(user.refreshToken);
      const newAuth = { authorization: `Bearer ${first.body.accessToken}` };
      expect((await api.get("/v1/auth/me", newAuth)).status).to.equal(200);

      const reuse = await api.request<ErrorBody>("POST", "/v1/auth/refresh", {
        body: { refreshToken: user.refreshToken },
      });
      expect(reuse.status).to.equal(401);
      expect(reuse.body.error.code).to.equal("REFRESH_TOKEN_REUSED");
      const successor = await api.request<ErrorBody>("POST", "/v1/auth/refresh", {
        body: { refreshToken: first.body.refreshToken },
      });
      expect(successor.status).to.equal(401);
      const revoked = await api.get<ErrorBody>("/v1/auth/me", newAuth);
      expect(revoked.status).to.equal(401);
      expect(revoked.body.error.code).to.equal("SESSION_REVOKED");
    });

    it("logout ends the session at once", async () => {
      const user = await loginAs(api, org.admin.email, org.orgId);
      expect((await api.get("/v1/auth/me", user.auth)).status).to.equal(200);
      const out = await api.request("POST", "/v1/auth/logout", { headers: user.auth });
      expect(out.status).to.equal(204);
      expect((await api.get("/v1/auth/me", user.auth)).status).to.equal(401);
      const refresh = await api.request("POST", "/v1/auth/refresh", { body: { refreshToken: user.refreshToken } });
      expect(refresh.status).to.equal(401);
    });
  });

  describe("users", () => {
    it("enforces the password policy and unique emails", async () => {
      const email = `${uniqueName("u")}@example.test`;
      const asEmail = await api.request<ErrorBody>("POST", `/v1/orgs/${org.orgId}/users`, {
        body: { email, password: email, role: "VIEWER" },
        headers: org.admin.auth,
      });
      expect(asEmail.status).to.equal(422);
      expect(asEmail.body.error.message).to.match(/email/);
      const ok = await api.request("POST", `/v1/orgs/${org.orgId}/users`, {
        body: { email, password: TEST_PASSWORD, role: "VIEWER" },
        headers: org.admin.auth,
      });
      expect(ok.status).to.equal(201);
      const dup = await api.request<ErrorBody>("POST", `/v1/orgs/${org.orgId}/users`, {
        body: { email, password: TEST_PASSWORD, role: "VIEWER" },
        headers: org.admin.auth,
      });
      expect(dup.status).to.equal(409);
      expect(dup.body.error.code).to.equal("USER_EXISTS");
    });
  });

  describe("API tokens", () => {
    interface Created {
      id: string;
      token: string;
      prefix: string;
    }
    const create = (body: object, headers = org.admin.auth) =>
      api.request<Created & ErrorBody>("POST", `/v1/orgs/${org.orgId}/tokens`, { body, headers });

    it("shows the secret once and stores only a hash", async () => {
      const res = await create({ name: "ci", scopes: ["audit:read"] });
      expect(res.status).to.equal(201);
      expect(res.body.token).to.match(/^stk_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
      const list = await api.get<{ items: Array<Record<string, unknown>> }>(
        `/v1/orgs/${org.orgId}/tokens`,
        org.admin.auth,
      );
      const listed = list.body.items.find((t) => t.id === res.body.id);
      expect(listed).to.not.have.property("token");
      // The secret may itself contain "_" (base64url): everything after the prefix.
      const secret = res.body.token.split("_").slice(2).join("_");
      expect(JSON.stringify(list.body)).to.not.include(secret);
      const [row] = await db("api_tokens").where({ id: res.body.id });
      // A keyed hash (HMAC-SHA256 under a key derived from the signing key "test1"), never the secret.
      expect(row.token_hash).to.match(/^hmac-sha256:test1:[A-Za-z0-9_-]{43}$/);
      expect(row.token_hash).to.not.include(secret);
    });

    it("acts with the creator's role intersected with its scopes", async () => {
      const res = await create({ name: "reader", scopes: ["audit:read"] });
      const auth = { authorization: `Bearer ${res.body.token}` };
      expect((await api.get(`/v1/orgs/${org.orgId}/audit`, auth)).status).to.equal(200);
      const denied = await api.get<ErrorBody>(`/v1/orgs/${org.orgId}/users`, auth);
      expect(denied.status).to.equal(403);
      expect(denied.body.error.code).to.equal("PERMISSION_DENIED");
      expect(denied.body.error.details).to.deep.equal({ missingPermission: "users:read" });
    });

    it("cannot carry permissions the creator lacks", async () => {
      const appAdmin = await createUserWithRole(api, org, "APP_ADMIN");
      const res = await create({ name: "escalate", scopes: ["users:write"] }, appAdmin.auth);
      expect(res.status).to.equal(403);
      expect(res.body.error.code).to.equal("SCOPE_NOT_ALLOWED");
      const viewer = await createUserWithRole(api, org, "VIEWER");
      expect((await create({ name: "v", scopes: ["stacks:read"] }, viewer.auth)).status).to.equal(403);
    });

    it("stops working the moment it is revoked, despite the cache", async () => {
      const res = await create({ name: "revoke-me", scopes: ["audit:read"] });
      const auth = { authorization: `Bearer ${res.body.token}` };
      expect((await api.get(`/v1/orgs/${org.orgId}/audit`, auth)).status).to.equal(200); // now cached
      const del = await api.request("DELETE", `/v1/orgs/${org.orgId}/tokens/${res.body.id}`, {
        headers: org.admin.auth,
      });
      expect(del.status).to.equal(200);
      await sleep(100); // the broadcast crosses NATS
      const after = await api.get<ErrorBody>(`/v1/orgs/${org.orgId}/audit`, auth);
      expect(after.status).to.equal(401);
      expect(after.body.error.code).to.equal("TOKEN_REVOKED");
    });

    it("expires", async () => {
      const res = await create({
        name: "short",
        scopes: ["audit:read"],
        expiresAt: new Date(Date.now() + 4000).toISOString(),
      });
      const auth = { authorization: `Bearer ${res.body.token}` };
      expect((await api.get(`/v1/orgs/${org.orgId}/audit`, auth)).status).to.equal(200);
      await sleep(Math.max(0, Date.parse((res.body as { expiresAt?: string }).expiresAt ?? "") - Date.now()) + 200);
      const after = await api.get<ErrorBody>(`/v1/orgs/${org.orgId}/audit`, auth);
      expect(after.status).to.equal(401);
      expect(after.body.error.code).to.equal("TOKEN_EXPIRED");
    });

    it("refuses a revoked or expired token before hashing anything", async () => {
      const res = await create({ name: "dead", scopes: ["audit:read"] });
      // A hash nothing can match: only a check that runs before hashing can answer TOKEN_REVOKED.
      await db("api_tokens").where({ id: res.body.id }).update({ token_hash: "hmac-sha256:test1:unmatchable" });
      const auth = { authorization: `Bearer ${res.body.token}` };
      expect((await api.get<ErrorBody>(`/v1/orgs/${org.orgId}/audit`, auth)).body.error.code).to.equal("INVALID_TOKEN");
      await db("api_tokens").where({ id: res.body.id }).update({ revoked_at: new Date() });
      const revoked = await api.get<ErrorBody>(`/v1/orgs/${org.orgId}/audit`, auth);
      expect(revoked.status).to.equal(401);
      expect(revoked.body.error.code).to.equal("TOKEN_REVOKED");
    });

    it("gives every token an expiry within the longest lifetime, and refuses one beyond it", async () => {
      const res = await create({ name: "forever", scopes: ["audit:read"] });
      expect(res.status).to.equal(201);
      const expiresAt = Date.parse((res.body as { expiresAt?: string }).expiresAt ?? "");
      const year = 365 * 24 * 3600 * 1000;
      expect(expiresAt).to.be.within(Date.now() + year - 60_000, Date.now() + year + 1000);
      const tooFar = await create({
        name: "too far",
        scopes: ["audit:read"],
        expiresAt: new Date(Date.now() + 2 * year).toISOString(),
      });
      expect(tooFar.status).to.equal(422);
      expect(tooFar.body.error.code).to.equal("EXPIRY_TOO_FAR");
    });

    it("lets a token mint tokens that never outlive it and die with it", async () => {
      const parentExpiry = new Date(Date.now() + 3600_000);
      const parent = await create({
        name: "pipeline",
        scopes: ["tokens:write", "audit:read"],
        expiresAt: parentExpiry.toISOString(),
      });
      expect(parent.status).to.equal(201);
      const parentAuth = { authorization: `Bearer ${parent.body.token}` };
      const beyond = await create(
        { name: "child", scopes: ["audit:read"], expiresAt: new Date(Date.now() + 7200_000).toISOString() },
        parentAuth,
      );
      expect(beyond.status).to.equal(422);
      expect(beyond.body.error.code).to.equal("EXPIRY_BEYOND_PARENT");
      const child = await create({ name: "child", scopes: ["audit:read"] }, parentAuth);
      expect(child.status).to.equal(201);
      expect(Date.parse((child.body as { expiresAt?: string }).expiresAt ?? "")).to.equal(parentExpiry.getTime());
      const outScoped = await create({ name: "wider", scopes: ["users:read"] }, parentAuth);
      expect(outScoped.status).to.equal(403);

      const childAuth = { authorization: `Bearer ${child.body.token}` };
      expect((await api.get(`/v1/orgs/${org.orgId}/audit`, childAuth)).status).to.equal(200); // now cached
      const del = await api.request("DELETE", `/v1/orgs/${org.orgId}/tokens/${parent.body.id}`, {
        headers: org.admin.auth,
      });
      expect(del.status).to.equal(200);
      await sleep(100); // the broadcast crosses NATS
      const after = await api.get<ErrorBody>(`/v1/orgs/${org.orgId}/audit`, childAuth);
      expect(after.status).to.equal(401);
      expect(after.body.error.code).to.equal("TOKEN_REVOKED");
      const [row] = await db("api_tokens").where({ id: child.body.id });
      expect(row.revoked_at).to.not.equal(null);
    });

    it("still accepts a token hashed with argon2 before keyed hashes, and upgrades its hash", async () => {
      const res = await create({ name: "legacy", scopes: ["audit:read"] });
      const secret = res.body.token.split("_").slice(2).join("_");
      await db("api_tokens")
        .where({ id: res.body.id })
        .update({ token_hash: await hashSecret(secret) });
      const auth = { authorization: `Bearer ${res.body.token}` };
      expect((await api.get(`/v1/orgs/${org.orgId}/audit`, auth)).status).to.equal(200);
      const [row] = await db("api_tokens").where({ id: res.body.id });
      expect(row.token_hash).to.match(/^hmac-sha256:test1:/);
    });

    it("rejects a forged secret behind a real prefix", async () => {
      const res = await create({ name: "forge", scopes: ["audit:read"] });
      const forged = `stk_${res.body.prefix}_${"A".repeat(43)}`;
      const out = await api.get<ErrorBody>(`/v1/orgs/${org.orgId}/audit`, { authorization: `Bearer ${forged}` });
      expect(out.status).to.equal(401);
      expect(out.body.error.code).to.equal("INVALID_TOKEN");
    });
  });

  describe("audit", () => {
    it("records every change, newest first, with cursor pages and filters", async () => {
      const all = await api.get<{ items: Array<{ action: string; ts: string; data: Record<string, unknown> }> }>(
        `/v1/orgs/${org.orgId}/audit?limit=200`,
        org.admin.auth,
      );
      const actions = all.body.items.map((i) => i.action);
      expect(actions).to.include.members([
        "org.create",
        "auth.login",
        "auth.login_failed",
        "user.create",
        "token.create",
        "token.revoke",
        "auth.logout",
      ]);
      const times = all.body.items.map((i) => Date.parse(i.ts));
      expect(times).to.deep.equal([...times].sort((a, b) => b - a));
      expect(JSON.stringify(all.body)).to.not.include(TEST_PASSWORD);

      const page1 = await api.get<{ items: Array<{ id: string }>; nextCursor: string }>(
        `/v1/orgs/${org.orgId}/audit?limit=2`,
        org.admin.auth,
      );
      expect(page1.body.items).to.have.length(2);
      const page2 = await api.get<{ items: Array<{ id: string }> }>(
        `/v1/orgs/${org.orgId}/audit?limit=2&cursor=${page1.body.nextCursor}`,
        org.admin.auth,
      );
      expect(page2.body.items[0]!.id).to.equal(
        all.body.items[2] && (all.body.items[2] as unknown as { id: string }).id,
      );

      const tokens = await api.get<{ items: Array<{ action: string }> }>(
        `/v1/orgs/${org.orgId}/audit?action=token.*`,
        org.admin.auth,
      );
      expect(new Set(tokens.body.items.map((i) => i.action))).to.deep.equal(new Set(["token.create", "token.revoke"]));
      const bad = await api.get<ErrorBody>(`/v1/orgs/${org.orgId}/audit?cursor=garbage`, org.admin.auth);
      expect(bad.status).to.equal(400);
    });
  });
});
