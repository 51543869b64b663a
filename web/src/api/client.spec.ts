import { expect } from "chai";
import { apiError, fakeFetch, json, memoryStore, tokenPair } from "../../test/fake-fetch.js";
import { ApiClient, ApiError, NETWORK_ERROR } from "./client.js";

const ME_PATH = "/v1/auth/me";
const user = { id: "u1", orgId: "o1", email: "a@example.test", role: "ORG_ADMIN", createdAt: "", lastLoginAt: null };

describe("ApiClient", () => {
  it("logs in without a bearer, then sends the access token and keeps the refresh token", async () => {
    const store = memoryStore();
    const { fetch, calls } = fakeFetch((req) =>
      req.path === "/v1/auth/login" ? json(200, { ...tokenPair(1), user }) : json(200, { ok: true }),
    );
    const client = new ApiClient({ store, fetch });
    await client.login({ email: "a@example.test", password: "pw" });
    await client.get(ME_PATH, { limit: 5, cursor: null });
    expect(calls[0]).to.deep.include({ method: "POST", authorization: null });
    expect(calls[0]?.body).to.deep.equal({ email: "a@example.test", password: "pw" });
    expect(calls[1]).to.deep.include({ path: ME_PATH, search: "?limit=5", authorization: "Bearer access-1" });
    expect(store.load()).to.equal("refresh-1");
  });

  it("turns the API's error shape into an ApiError with its code and missing permission", async () => {
    const { fetch } = fakeFetch(() => apiError(403, "PERMISSION_DENIED", { missingPermission: "users:read" }));
    const client = new ApiClient({ store: memoryStore("r"), fetch });
    const error = await client.get("/v1/x").catch((e: unknown) => e);
    expect(error).to.be.instanceOf(ApiError);
    expect(error).to.include({ status: 403, code: "PERMISSION_DENIED", missingPermission: "users:read" });
  });

  it("on 401 TOKEN_EXPIRED rotates the refresh token and retries the request once", async () => {
    const store = memoryStore();
    let refreshed = 0;
    const { fetch, calls } = fakeFetch((req) => {
      if (req.path === "/v1/auth/login") return json(200, { ...tokenPair(1), user });
      if (req.path === "/v1/auth/refresh") return json(200, tokenPair(2 + refreshed++));
      return req.authorization === "Bearer access-1" ? apiError(401, "TOKEN_EXPIRED") : json(200, { items: [] });
    });
    const client = new ApiClient({ store, fetch });
    await client.login({ email: "a@example.test", password: "pw" });
    const [a, b] = await Promise.all([client.get("/v1/a"), client.get("/v1/b")]);
    expect(a).to.deep.equal({ items: [] });
    expect(b).to.deep.equal({ items: [] });
    const refreshes = calls.filter((c) => c.path === "/v1/auth/refresh");
    expect(refreshes, "concurrent expiries share one refresh").to.have.length(1);
    expect(refreshes[0]?.body).to.deep.equal({ refreshToken: "refresh-1" });
    expect(store.load()).to.equal("refresh-2");
    expect(calls.filter((c) => c.path === "/v1/a").map((c) => c.authorization)).to.deep.equal([
      "Bearer access-1",
      "Bearer access-2",
    ]);
  });

  it("after a reload (refresh token only) refreshes before the first request", async () => {
    const store = memoryStore("refresh-7");
    const { fetch, calls } = fakeFetch((req) =>
      req.path === "/v1/auth/refresh" ? json(200, tokenPair(8)) : json(200, { ok: true }),
    );
    const client = new ApiClient({ store, fetch });
    expect(client.hasSession()).to.equal(true);
    await client.get(ME_PATH);
    expect(calls.map((c) => c.path)).to.deep.equal(["/v1/auth/refresh", ME_PATH]);
    expect(calls[1]?.authorization).to.equal("Bearer access-8");
    expect(store.load()).to.equal("refresh-8");
  });

  it("refreshes ahead of time when the access token is about to expire", async () => {
    const store = memoryStore();
    const { fetch, calls } = fakeFetch((req) => {
      if (req.path === "/v1/auth/login") return json(200, { ...tokenPair(1, 5_000), user });
      if (req.path === "/v1/auth/refresh") return json(200, tokenPair(2));
      return json(200, {});
    });
    const client = new ApiClient({ store, fetch });
    await client.login({ email: "a@example.test", password: "pw" });
    await client.get(ME_PATH);
    expect(calls.map((c) => c.path)).to.deep.equal(["/v1/auth/login", "/v1/auth/refresh", ME_PATH]);
  });

  it("ends the session on any other 401, without trying to refresh", async () => {
    const store = memoryStore();
    const { fetch, calls } = fakeFetch((req) =>
      req.path === "/v1/auth/login" ? json(200, { ...tokenPair(1), user }) : apiError(401, "SESSION_REVOKED"),
    );
    const client = new ApiClient({ store, fetch });
    const ended: string[] = [];
    client.onSessionEnded((e) => ended.push(e.code));
    await client.login({ email: "a@example.test", password: "pw" });
    const error = await client.get(ME_PATH).catch((e: unknown) => e);
    expect(error).to.include({ code: "SESSION_REVOKED" });
    expect(ended).to.deep.equal(["SESSION_REVOKED"]);
    expect(calls.some((c) => c.path === "/v1/auth/refresh")).to.equal(false);
    expect(store.load()).to.equal(null);
    expect(client.hasSession()).to.equal(false);
  });

  it("ends the session when the refresh itself is refused (e.g. a reused refresh token)", async () => {
    const store = memoryStore("refresh-1");
    const { fetch } = fakeFetch(() => apiError(401, "REFRESH_TOKEN_REUSED"));
    const client = new ApiClient({ store, fetch });
    const ended: string[] = [];
    client.onSessionEnded((e) => ended.push(e.code));
    const error = await client.get(ME_PATH).catch((e: unknown) => e);
    expect(error).to.include({ code: "REFRESH_TOKEN_REUSED" });
    expect(ended).to.deep.equal(["REFRESH_TOKEN_REUSED"]);
    expect(store.load()).to.equal(null);
  });

  it("a wrong password is an error for the form, not the end of a session", async () => {
    const { fetch } = fakeFetch(() => apiError(401, "INVALID_CREDENTIALS"));
    const client = new ApiClient({ store: memoryStore(), fetch });
    const ended: string[] = [];
    client.onSessionEnded((e) => ended.push(e.code));
    const error = await client.login({ email: "a@example.test", password: "x" }).catch((e: unknown) => e);
    expect(error).to.include({ status: 401, code: "INVALID_CREDENTIALS" });
    expect(ended).to.deep.equal([]);
  });

  it("reports an unreachable API as NETWORK_ERROR and keeps the session", async () => {
    const store = memoryStore("refresh-1");
    const fetch = (() => Promise.reject(new TypeError("fetch failed"))) as typeof globalThis.fetch;
    const client = new ApiClient({ store, fetch });
    const error = await client.get(ME_PATH).catch((e: unknown) => e);
    expect(error).to.include({ status: 0, code: NETWORK_ERROR });
    expect(store.load()).to.equal("refresh-1");
  });

  it("switching org logs the previous session out after the new login succeeds", async () => {
    let n = 0;
    const { fetch, calls } = fakeFetch((req) => {
      if (req.path === "/v1/auth/login") return json(200, { ...tokenPair(++n), user });
      return new Response(null, { status: 204 });
    });
    const client = new ApiClient({ store: memoryStore(), fetch });
    await client.login({ email: "a@example.test", password: "pw" });
    await client.login({ email: "a@example.test", password: "pw", orgId: "o2" });
    expect(calls.map((c) => `${c.method} ${c.path} ${c.authorization}`)).to.deep.equal([
      "POST /v1/auth/login null",
      "POST /v1/auth/login null",
      "POST /v1/auth/logout Bearer access-1",
    ]);
  });
});
