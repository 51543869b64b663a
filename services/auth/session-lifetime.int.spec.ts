/**
 * The absolute session lifetime on the real gateway and Postgres: refreshes rotate the token but never move the
 * session's end past login + AUTH_SESSION_MAX_LIFETIME_SECONDS, and a session past it cannot be refreshed.
 */
import { expect } from "chai";
import type { Db } from "../_shared/db.js";
import { createOrgWithAdmin, loginAs, type TestOrg } from "../_shared/testing/fixtures.js";
import type { ContractClient } from "../_shared/testing/http.js";
import type { TestNatsServer } from "../_shared/testing/nats-server.js";
import type { TestPlatform } from "../_shared/testing/platform.js";
import { startTestStack, stopTestStack } from "../_shared/testing/stack.js";

const MAX_LIFETIME_SECONDS = 3600;

interface Tokens {
  accessToken: string;
  refreshToken: string;
  refreshTokenExpiresAt: string;
}

describe("absolute session lifetime (real gateway, Postgres)", function () {
  this.timeout(60_000);
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let db: Db;
  let api: ContractClient;
  let org: TestOrg;

  const refresh = (refreshToken: string) =>
    api.request<Tokens & { error?: { code: string } }>("POST", "/v1/auth/refresh", { body: { refreshToken } });
  /** Moves the whole session family's start back, as if the login happened `seconds` ago. */
  const ageFamily = async (refreshToken: string, seconds: number) => {
    const { createHash } = await import("node:crypto");
    const row = await db("sessions")
      .where({ token_hash: createHash("sha256").update(refreshToken).digest("hex") })
      .first("family_id");
    await db("sessions")
      .where({ family_id: row.family_id })
      .update({ created_at: db.raw("created_at - make_interval(secs => ?)", [seconds]) });
  };

  before(async () => {
    ({ db, nats, platform, api } = await startTestStack({
      AUTH_REFRESH_TOKEN_TTL_SECONDS: String(24 * 3600),
      AUTH_SESSION_MAX_LIFETIME_SECONDS: String(MAX_LIFETIME_SECONDS),
    }));
    org = await createOrgWithAdmin(api);
  });
  after(async () => {
    await stopTestStack({ db, nats, platform });
  });

  it("a login's refresh token expires at the absolute lifetime when that is sooner than the refresh TTL", async () => {
    const before = Date.now();
    const login = await api.request<Tokens>("POST", "/v1/auth/login", {
      body: { email: org.admin.email, password: "correct horse battery staple", orgId: org.orgId },
    });
    expect(login.status).to.equal(200);
    const expires = Date.parse(login.body.refreshTokenExpiresAt);
    expect(expires).to.be.within(before + MAX_LIFETIME_SECONDS * 1000 - 1000, Date.now() + MAX_LIFETIME_SECONDS * 1000);
  });

  it("refreshing rotates the token without sliding the session's end", async () => {
    const session = await loginAs(api, org.admin.email, org.orgId);
    await ageFamily(session.refreshToken, MAX_LIFETIME_SECONDS - 600);
    const res = await refresh(session.refreshToken);
    expect(res.status).to.equal(200);
    const remaining = Date.parse(res.body.refreshTokenExpiresAt) - Date.now();
    expect(remaining).to.be.within(590_000, 601_000);
  });

  it("a session past its absolute lifetime cannot be refreshed (401 SESSION_EXPIRED)", async () => {
    const session = await loginAs(api, org.admin.email, org.orgId);
    await ageFamily(session.refreshToken, MAX_LIFETIME_SECONDS + 1);
    const res = await refresh(session.refreshToken);
    expect(res.status).to.equal(401);
    expect(res.body.error?.code).to.equal("SESSION_EXPIRED");
  });
});
