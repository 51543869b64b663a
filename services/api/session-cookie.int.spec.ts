/**
 * The browser's session cookie against the real gateway (Postgres, nats-server, every service): the refresh
 * token set as an HttpOnly, Secure, SameSite=Strict cookie and kept out of the body; refresh through the cookie
 * with the same-origin checks (CSRF); logout clears it and ends the session; API clients keep the body token.
 */
import { expect } from "chai";
import type { Db } from "../_shared/db.js";
import { createOrgWithAdmin, TEST_PASSWORD, type TestOrg } from "../_shared/testing/fixtures.js";
import type { ContractClient } from "../_shared/testing/http.js";
import type { TestNatsServer } from "../_shared/testing/nats-server.js";
import type { TestPlatform } from "../_shared/testing/platform.js";
import { startTestStack, stopTestStack } from "../_shared/testing/stack.js";
import { REFRESH_COOKIE, SESSION_TRANSPORT_HEADER } from "./session-cookie.js";

interface Pair {
  accessToken: string;
  refreshToken?: string;
  refreshTokenExpiresAt: string;
}

const COOKIE_MODE = { [SESSION_TRANSPORT_HEADER]: "cookie" };

describe("the browser's session cookie (real gateway)", function () {
  this.timeout(60_000);
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let db: Db;
  let api: ContractClient;
  let org: TestOrg;

  before(async () => {
    ({ db, nats, platform, api } = await startTestStack());
    org = await createOrgWithAdmin(api);
  });
  after(() => stopTestStack({ db, nats, platform }));

  const cookieOf = (headers: Headers): string | undefined => {
    const set = headers.get("set-cookie");
    return set ? /^stackyard_refresh=([^;]*)/.exec(set)?.[1] : undefined;
  };
  const login = (headers: Record<string, string> = COOKIE_MODE) =>
    api.request<Pair>("POST", "/v1/auth/login", {
      body: { email: org.admin.email, password: TEST_PASSWORD },
      headers,
    });
  const refreshWithCookie = (token: string, headers: Record<string, string> = COOKIE_MODE) =>
    api.request<Pair & { error?: { code: string } }>("POST", "/v1/auth/refresh", {
      body: {},
      headers: { ...headers, cookie: `theme=dark; ${REFRESH_COOKIE}=${token}` },
    });

  it("sets the refresh token as an HttpOnly, Secure, SameSite=Strict cookie on /v1/auth, never in the body", async () => {
    const res = await login();
    expect(res.status).to.equal(200);
    expect(res.body.refreshToken).to.equal(undefined);
    const set = res.headers.get("set-cookie")!;
    expect(set).to.match(/^stackyard_refresh=[^;]+; Path=\/v1\/auth; Max-Age=\d+; HttpOnly; Secure; SameSite=Strict$/);
    const maxAge = Number(/Max-Age=(\d+)/.exec(set)![1]);
    const expected = (Date.parse(res.body.refreshTokenExpiresAt) - Date.now()) / 1000;
    expect(Math.abs(maxAge - expected)).to.be.below(10);
  });

  it("refreshes through the cookie, rotating it; the used cookie is spent", async () => {
    const first = cookieOf((await login()).headers)!;
    const res = await refreshWithCookie(first);
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body.refreshToken).to.equal(undefined);
    const second = cookieOf(res.headers)!;
    expect(second).to.be.a("string").and.not.equal(first);
    expect((await api.get("/v1/auth/me", { authorization: `Bearer ${res.body.accessToken}` })).status).to.equal(200);
    // Presenting the spent one again is a replay: refused, and the whole session with it.
    expect((await refreshWithCookie(first)).status).to.equal(401);
    expect((await refreshWithCookie(second)).status).to.equal(401);
  });

  it("refuses the cookie without the session header, or from another origin (CSRF), with a code", async () => {
    const token = cookieOf((await login()).headers)!;
    const noHeader = await refreshWithCookie(token, {});
    expect(noHeader.status).to.equal(403);
    expect(noHeader.body.error?.code).to.equal("CSRF_CHECK_FAILED");
    const foreign = await refreshWithCookie(token, { ...COOKIE_MODE, origin: "https://evil.example" });
    expect(foreign.status).to.equal(403);
    expect(foreign.body.error?.code).to.equal("CSRF_CHECK_FAILED");
    const same = await refreshWithCookie(token, { ...COOKIE_MODE, origin: platform.baseUrl });
    expect(same.status, "the refused attempts did not spend it").to.equal(200);
  });

  it("answers 401 REFRESH_TOKEN_MISSING when neither body nor cookie has one", async () => {
    const res = await api.request<{ error: { code: string } }>("POST", "/v1/auth/refresh", {
      body: {},
      headers: COOKIE_MODE,
    });
    expect(res.status).to.equal(401);
    expect(res.body.error.code).to.equal("REFRESH_TOKEN_MISSING");
  });

  it("logout clears the cookie and ends the session", async () => {
    const res = await login();
    const token = cookieOf(res.headers)!;
    const out = await api.request("POST", "/v1/auth/logout", {
      headers: { ...COOKIE_MODE, authorization: `Bearer ${res.body.accessToken}` },
    });
    expect(out.status).to.equal(204);
    expect(out.headers.get("set-cookie")).to.match(/^stackyard_refresh=; Path=\/v1\/auth; Max-Age=0;/);
    expect((await refreshWithCookie(token)).status).to.equal(401);
  });

  it("keeps the body token for API clients (no header: no cookie)", async () => {
    const res = await login({});
    expect(res.headers.get("set-cookie")).to.equal(null);
    expect(res.body.refreshToken).to.be.a("string");
    const again = await api.request<Pair>("POST", "/v1/auth/refresh", {
      body: { refreshToken: res.body.refreshToken },
    });
    expect(again.status).to.equal(200);
    expect(again.body.refreshToken).to.be.a("string");
  });
});
