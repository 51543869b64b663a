/**
 * MFA through the real gateway, Postgres and NATS: enrolment and its confirmation, the two-step login with TOTP and
 * recovery codes, replay refusal, the throttle under a parallel burst, the org's policy forcing enrolment at the
 * next login, an admin's reset, and API tokens left alone. Every response is checked against openapi.yaml.
 */
import { expect } from "chai";
import type { Db } from "../_shared/db.js";
import {
  createOrgWithAdmin,
  createUserWithRole,
  loginAs,
  TEST_PASSWORD,
  type TestOrg,
  type TestUser,
} from "../_shared/testing/fixtures.js";
import type { ContractClient } from "../_shared/testing/http.js";
import type { TestNatsServer } from "../_shared/testing/nats-server.js";
import type { TestPlatform } from "../_shared/testing/platform.js";
import { startTestStack, stopTestStack } from "../_shared/testing/stack.js";
import { sleep } from "../_shared/testing/wait.js";
import { base32Decode, totp } from "./totp.js";

interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}
interface Challenge {
  challengeToken: string;
  challengeExpiresAt: string;
}
interface LoginBody {
  accessToken: string;
  refreshToken: string;
  user: { id: string };
  recoveryCodes?: string[];
}

/** The code of `secret` `steps` time steps from `base` (the server accepts -1, 0 and +1 around its clock). */
const codeAt = (secret: string, steps: number, base = Date.now()): string =>
  totp(base32Decode(secret), base + steps * 30_000);

/**
 * Waits for the next time step when fewer than `ms` are left in this one, so that the steps a test uses stay
 * where it expects them on the server's clock (same host, same clock) for that long.
 */
async function roomInStep(ms: number): Promise<number> {
  const left = 30_000 - (Date.now() % 30_000);
  if (left < ms) await sleep(left + 50);
  return Date.now();
}

describe("MFA: TOTP enrolment, two-step login, recovery codes, org policy (real gateway, Postgres, NATS)", function () {
  this.timeout(90_000);
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let db: Db;
  let api: ContractClient;
  let org: TestOrg;

  before(async () => {
    ({ db, nats, platform, api } = await startTestStack());
    org = await createOrgWithAdmin(api);
  });
  after(async () => {
    await stopTestStack({ db, nats, platform });
  });

  const passwordStep = (email: string, orgId: string) =>
    api.request<ErrorBody & LoginBody>("POST", "/v1/auth/login", { body: { email, password: TEST_PASSWORD, orgId } });

  async function challengeOf(email: string, orgId: string, expected: string): Promise<string> {
    const res = await passwordStep(email, orgId);
    expect(res.status, JSON.stringify(res.body)).to.equal(401);
    expect(res.body.error.code).to.equal(expected);
    const details = res.body.error.details as unknown as Challenge;
    expect(details.challengeToken).to.match(/^smc_/);
    expect(Date.parse(details.challengeExpiresAt)).to.be.greaterThan(Date.now());
    return details.challengeToken;
  }

  async function enrol(user: TestUser): Promise<{ secret: string; recoveryCodes: string[] }> {
    await roomInStep(5_000);
    const started = await api.request<{ secret: string; otpauthUri: string }>("POST", "/v1/auth/mfa/enrollment", {
      headers: user.auth,
    });
    expect(started.status).to.equal(200);
    const confirmed = await api.request<{ recoveryCodes: string[] }>("POST", "/v1/auth/mfa/enrollment/confirm", {
      body: { code: codeAt(started.body.secret, -1) },
      headers: user.auth,
    });
    expect(confirmed.status, JSON.stringify(confirmed.body)).to.equal(200);
    return { secret: started.body.secret, recoveryCodes: confirmed.body.recoveryCodes };
  }

  describe("a user's own factor", () => {
    let user: TestUser;
    let secret: string;
    let recoveryCodes: string[];
    let apiToken: string;
    /** This block uses steps -1, 0 and +1 of one moment: it runs within one step of the clock. */
    let base: number;

    before(async () => {
      user = await createUserWithRole(api, org, "APP_ADMIN");
      const token = await api.request<{ token: string }>("POST", `/v1/orgs/${org.orgId}/tokens`, {
        body: { name: "ci", scopes: ["stacks:read"] },
        headers: user.auth,
      });
      expect(token.status).to.equal(201);
      apiToken = token.body.token;
      base = await roomInStep(20_000);
    });

    it("enrols: the secret is shown once, stored encrypted, and MFA is on only after a first right code", async () => {
      const before = await api.request<{ enabled: boolean; pending: boolean }>("GET", "/v1/auth/mfa", {
        headers: user.auth,
      });
      expect(before.body).to.include({ enabled: false, pending: false });

      const started = await api.request<{ secret: string; otpauthUri: string }>("POST", "/v1/auth/mfa/enrollment", {
        headers: user.auth,
      });
      expect(started.status).to.equal(200);
      secret = started.body.secret;
      expect(secret).to.match(/^[A-Z2-7]{32}$/);
      const uri = new URL(started.body.otpauthUri);
      expect(uri.protocol).to.equal("otpauth:");
      expect(uri.searchParams.get("secret")).to.equal(secret);
      expect(decodeURIComponent(uri.pathname)).to.equal(`/Stackyard:${user.email}`);

      const row = await db("user_mfa").where({ user_id: user.userId }).first();
      expect(row.confirmed_at).to.equal(null);
      expect(Buffer.from(row.ciphertext).includes(base32Decode(secret))).to.equal(false);
      expect(Buffer.from(row.ciphertext).toString("latin1")).not.to.include(secret);

      const pending = await api.request<{ enabled: boolean; pending: boolean }>("GET", "/v1/auth/mfa", {
        headers: user.auth,
      });
      expect(pending.body).to.include({ enabled: false, pending: true });
      // Still a one-step login while only pending.
      expect((await passwordStep(user.email, org.orgId)).status).to.equal(200);

      const wrong = await api.request<ErrorBody>("POST", "/v1/auth/mfa/enrollment/confirm", {
        body: { code: codeAt(secret, 5, base) },
        headers: user.auth,
      });
      expect(wrong.status).to.equal(403);
      expect(wrong.body.error.code).to.equal("MFA_INVALID_CODE");
      // A 403, not a 401: the session goes on.
      expect((await api.get("/v1/auth/me", user.auth)).status).to.equal(200);

      const confirmed = await api.request<{ recoveryCodes: string[] }>("POST", "/v1/auth/mfa/enrollment/confirm", {
        body: { code: codeAt(secret, -1, base) },
        headers: user.auth,
      });
      expect(confirmed.status).to.equal(200);
      recoveryCodes = confirmed.body.recoveryCodes;
      expect(recoveryCodes).to.have.length(10);
      for (const c of recoveryCodes) expect(c).to.match(/^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$/);
      const stored = await db("mfa_recovery_codes").where({ user_id: user.userId }).select("code_hash");
      expect(stored).to.have.length(10);
      for (const s of stored) expect(recoveryCodes.join()).not.to.include(s.code_hash);

      const status = await api.request<{ enabled: boolean; recoveryCodesRemaining: number }>("GET", "/v1/auth/mfa", {
        headers: user.auth,
      });
      expect(status.body).to.include({ enabled: true, recoveryCodesRemaining: 10 });
      const again = await api.request<ErrorBody>("POST", "/v1/auth/mfa/enrollment", { headers: user.auth });
      expect(again.status).to.equal(409);
      expect(again.body.error.code).to.equal("MFA_ALREADY_ENABLED");
    });

    it("logs in in two steps: MFA_REQUIRED, then a code; a used code or a spent challenge is refused", async () => {
      const challenge = await challengeOf(user.email, org.orgId, "MFA_REQUIRED");
      // The enrolment used step -1: the same code again is a replay.
      const replay = await api.request<ErrorBody>("POST", "/v1/auth/login/mfa", {
        body: { challengeToken: challenge, code: codeAt(secret, -1, base) },
      });
      expect(replay.status).to.equal(401);
      expect(replay.body.error.code).to.equal("MFA_CODE_ALREADY_USED");

      const ok = await api.request<LoginBody>("POST", "/v1/auth/login/mfa", {
        body: { challengeToken: challenge, code: codeAt(secret, 0, base) },
      });
      expect(ok.status).to.equal(200);
      expect(ok.body.user.id).to.equal(user.userId);
      expect((await api.get("/v1/auth/me", { authorization: `Bearer ${ok.body.accessToken}` })).status).to.equal(200);

      const spent = await api.request<ErrorBody>("POST", "/v1/auth/login/mfa", {
        body: { challengeToken: challenge, code: codeAt(secret, 1, base) },
      });
      expect(spent.status).to.equal(401);
      expect(spent.body.error.code).to.equal("MFA_CHALLENGE_INVALID");

      const bogus = await api.request<ErrorBody>("POST", "/v1/auth/login/mfa", {
        body: { challengeToken: "smc_" + "x".repeat(43), code: "123456" },
      });
      expect(bogus.status).to.equal(401);
      expect(bogus.body.error.code).to.equal("MFA_CHALLENGE_INVALID");
    });

    it("accepts each recovery code once", async () => {
      const code = recoveryCodes[0]!;
      const first = await api.request<LoginBody>("POST", "/v1/auth/login/mfa", {
        body: { challengeToken: await challengeOf(user.email, org.orgId, "MFA_REQUIRED"), code: code.toUpperCase() },
      });
      expect(first.status).to.equal(200);
      const second = await api.request<ErrorBody>("POST", "/v1/auth/login/mfa", {
        body: { challengeToken: await challengeOf(user.email, org.orgId, "MFA_REQUIRED"), code },
      });
      expect(second.status).to.equal(401);
      expect(second.body.error.code).to.equal("MFA_INVALID_CODE");
      const status = await api.request<{ recoveryCodesRemaining: number }>("GET", "/v1/auth/mfa", {
        headers: user.auth,
      });
      expect(status.body.recoveryCodesRemaining).to.equal(9);
    });

    it("leaves API tokens working, and refuses to manage MFA with one", async () => {
      const bearer = { authorization: `Bearer ${apiToken}` };
      expect((await api.get(`/v1/orgs/${org.orgId}/stacks`, bearer)).status).to.equal(200);
      const refused = await api.request<ErrorBody>("POST", "/v1/auth/mfa/disable", {
        body: { code: recoveryCodes[1]! },
        headers: bearer,
      });
      expect(refused.status).to.equal(403);
      expect(refused.body.error.code).to.equal("SESSION_REQUIRED");
    });

    it("regenerates recovery codes (the old set dies) and disables MFA with a code", async () => {
      const fresh = await api.request<{ recoveryCodes: string[] }>("POST", "/v1/auth/mfa/recovery-codes", {
        body: { code: recoveryCodes[1]! },
        headers: user.auth,
      });
      expect(fresh.status).to.equal(200);
      expect(fresh.body.recoveryCodes).to.have.length(10);
      const old = await api.request<ErrorBody>("POST", "/v1/auth/mfa/disable", {
        body: { code: recoveryCodes[2]! },
        headers: user.auth,
      });
      expect(old.status).to.equal(403);
      expect(old.body.error.code).to.equal("MFA_INVALID_CODE");

      const off = await api.request<{ enabled: boolean }>("POST", "/v1/auth/mfa/disable", {
        body: { code: codeAt(secret, 1, base) },
        headers: user.auth,
      });
      expect(off.status).to.equal(200);
      expect(off.body.enabled).to.equal(false);
      expect(await db("user_mfa").where({ user_id: user.userId }).first()).to.equal(undefined);
      expect((await passwordStep(user.email, org.orgId)).status).to.equal(200);
    });

    it("audits every step without a secret or code in the log", async () => {
      const res = await api.get<{ items: Array<{ action: string; targetId: string | null; data: unknown }> }>(
        `/v1/orgs/${org.orgId}/audit?limit=200`,
        org.admin.auth,
      );
      const mine = res.body.items.filter((e) => e.targetId === user.userId);
      const actions = mine.map((e) => e.action);
      for (const action of [
        "auth.mfa_enrollment_started",
        "auth.mfa_enabled",
        "auth.mfa_failed",
        "auth.mfa_recovery_code_used",
        "auth.mfa_recovery_codes_regenerated",
        "auth.mfa_disabled",
      ])
        expect(actions).to.include(action);
      const logins = mine.filter((e) => e.action === "auth.login").map((e) => (e.data as { mfa?: string }).mfa);
      expect(logins).to.include.members(["totp", "recovery", "none"]);
      const text = JSON.stringify(mine);
      expect(text).not.to.include(secret);
      for (const c of recoveryCodes) expect(text).not.to.include(c);
      for (const step of [-1, 0, 1]) expect(text).not.to.include(`"${codeAt(secret, step, base)}"`);
    });
  });

  it("throttles wrong codes like passwords: a parallel burst reaches the check at most budget + 1 times", async () => {
    const user = await createUserWithRole(api, org, "VIEWER");
    const { secret } = await enrol(user);
    const challenge = await challengeOf(user.email, org.orgId, "MFA_REQUIRED");
    const wrongCode = String((Number(codeAt(secret, 0)) + 500_000) % 1_000_000).padStart(6, "0");
    const burst = await Promise.all(
      Array.from({ length: 20 }, () =>
        api.request<ErrorBody>("POST", "/v1/auth/login/mfa", { body: { challengeToken: challenge, code: wrongCode } }),
      ),
    );
    const statuses = burst.map((r) => r.status);
    expect(statuses.filter((s) => s === 401).length).to.be.at.most(6);
    expect(statuses.filter((s) => s === 429).length).to.be.at.least(14);
    const locked = await api.request<ErrorBody>("POST", "/v1/auth/login/mfa", {
      body: { challengeToken: challenge, code: codeAt(secret, 0) },
    });
    expect(locked.status).to.equal(429);
    expect(locked.headers.get("retry-after")).to.match(/^\d+$/);
  });

  it("answers 503 MFA_UNAVAILABLE, not a 500, when the master key of a secret is not configured", async () => {
    const user = await createUserWithRole(api, org, "VIEWER");
    await enrol(user);
    await db("user_mfa").where({ user_id: user.userId }).update({ key_id: "gone" });
    const res = await api.request<ErrorBody>("POST", "/v1/auth/login/mfa", {
      body: { challengeToken: await challengeOf(user.email, org.orgId, "MFA_REQUIRED"), code: "123456" },
    });
    expect(res.status).to.equal(503);
    expect(res.body.error.code).to.equal("MFA_UNAVAILABLE");
  });

  describe("org policy", () => {
    let policyOrg: TestOrg;
    let viewer: TestUser;

    before(async () => {
      policyOrg = await createOrgWithAdmin(api);
      viewer = await createUserWithRole(api, policyOrg, "VIEWER");
    });

    it("refuses a policy covering an admin without MFA, and lets only ORG_ADMIN set it", async () => {
      const self = await api.request<ErrorBody>("PUT", `/v1/orgs/${policyOrg.orgId}/mfa-policy`, {
        body: { requiredFor: "all" },
        headers: policyOrg.admin.auth,
      });
      expect(self.status).to.equal(409);
      expect(self.body.error.code).to.equal("MFA_ENROLL_FIRST");
      const byViewer = await api.request<ErrorBody>("PUT", `/v1/orgs/${policyOrg.orgId}/mfa-policy`, {
        body: { requiredFor: "none" },
        headers: viewer.auth,
      });
      expect(byViewer.status).to.equal(403);
    });

    it("requires MFA for all: sessions without it end, the next login must enrol first", async () => {
      await enrol(policyOrg.admin);
      const set = await api.request<{ requiredFor: string; coveredUsers: number; coveredUsersWithoutMfa: number }>(
        "PUT",
        `/v1/orgs/${policyOrg.orgId}/mfa-policy`,
        { body: { requiredFor: "all" }, headers: policyOrg.admin.auth },
      );
      expect(set.status).to.equal(200);
      expect(set.body).to.deep.equal({ requiredFor: "all", coveredUsers: 2, coveredUsersWithoutMfa: 1 });
      // The admin's session stays; the viewer's ended.
      expect((await api.get("/v1/auth/me", policyOrg.admin.auth)).status).to.equal(200);
      const ended = await api.request<ErrorBody>("GET", "/v1/auth/me", { headers: viewer.auth });
      expect(ended.status).to.equal(401);
      expect(ended.body.error.code).to.equal("SESSION_REVOKED");

      const challenge = await challengeOf(viewer.email, policyOrg.orgId, "MFA_ENROLLMENT_REQUIRED");
      // An enrolment challenge is no login challenge.
      const wrongStep = await api.request<ErrorBody>("POST", "/v1/auth/login/mfa", {
        body: { challengeToken: challenge, code: "123456" },
      });
      expect(wrongStep.body.error.code).to.equal("MFA_CHALLENGE_INVALID");
      const notStarted = await api.request<ErrorBody>("POST", "/v1/auth/login/mfa-enrollment/confirm", {
        body: { challengeToken: challenge, code: "123456" },
      });
      expect(notStarted.status).to.equal(409);
      expect(notStarted.body.error.code).to.equal("MFA_ENROLLMENT_NOT_STARTED");

      const started = await api.request<{ secret: string }>("POST", "/v1/auth/login/mfa-enrollment", {
        body: { challengeToken: challenge },
      });
      expect(started.status).to.equal(200);
      const done = await api.request<LoginBody>("POST", "/v1/auth/login/mfa-enrollment/confirm", {
        body: { challengeToken: challenge, code: codeAt(started.body.secret, 0) },
      });
      expect(done.status, JSON.stringify(done.body)).to.equal(200);
      expect(done.body.recoveryCodes).to.have.length(10);
      const auth = { authorization: `Bearer ${done.body.accessToken}` };
      const status = await api.request<{ enabled: boolean; requiredByOrg: boolean }>("GET", "/v1/auth/mfa", {
        headers: auth,
      });
      expect(status.body).to.include({ enabled: true, requiredByOrg: true });

      const disable = await api.request<ErrorBody>("POST", "/v1/auth/mfa/disable", {
        body: { code: done.body.recoveryCodes![0]! },
        headers: auth,
      });
      expect(disable.status).to.equal(409);
      expect(disable.body.error.code).to.equal("MFA_REQUIRED_BY_ORG");
      viewer = { ...viewer, accessToken: done.body.accessToken, auth };

      const users = await api.get<{ items: Array<{ id: string; mfaEnabled?: boolean }> }>(
        `/v1/orgs/${policyOrg.orgId}/users`,
        policyOrg.admin.auth,
      );
      expect(users.body.items.every((u) => u.mfaEnabled === true)).to.equal(true);
    });

    it("lets an admin reset a user's MFA (audited): their sessions end and they enrol again", async () => {
      const byViewer = await api.request<ErrorBody>(
        "DELETE",
        `/v1/orgs/${policyOrg.orgId}/users/${viewer.userId}/mfa`,
        {
          headers: viewer.auth,
        },
      );
      expect(byViewer.status).to.equal(403);
      const reset = await api.request<{ mfaEnabled: boolean; sessionsRevoked: number }>(
        "DELETE",
        `/v1/orgs/${policyOrg.orgId}/users/${viewer.userId}/mfa`,
        { headers: policyOrg.admin.auth },
      );
      expect(reset.status).to.equal(200);
      expect(reset.body.mfaEnabled).to.equal(false);
      expect(reset.body.sessionsRevoked).to.be.at.least(1);
      expect((await api.get("/v1/auth/me", viewer.auth)).status).to.equal(401);
      await challengeOf(viewer.email, policyOrg.orgId, "MFA_ENROLLMENT_REQUIRED");
      const audit = await api.get<{ items: Array<{ action: string; targetId: string | null }> }>(
        `/v1/orgs/${policyOrg.orgId}/audit?limit=100`,
        policyOrg.admin.auth,
      );
      const actions = audit.body.items.map((e) => `${e.action}:${e.targetId}`);
      expect(actions).to.include(`auth.mfa_reset:${viewer.userId}`);
      expect(actions).to.include(`org.mfa_policy_update:${policyOrg.orgId}`);
      const gone = await api.request<ErrorBody>("DELETE", `/v1/orgs/${policyOrg.orgId}/users/${org.admin.userId}/mfa`, {
        headers: policyOrg.admin.auth,
      });
      expect(gone.status).to.equal(404);
    });

    it("covers only ORG_ADMINs with `admins`", async () => {
      const set = await api.request<{ coveredUsers: number }>("PUT", `/v1/orgs/${policyOrg.orgId}/mfa-policy`, {
        body: { requiredFor: "admins" },
        headers: policyOrg.admin.auth,
      });
      expect(set.body.coveredUsers).to.equal(1);
      const res = await loginAs(api, viewer.email, policyOrg.orgId);
      expect(res.userId).to.equal(viewer.userId);
    });
  });
});
