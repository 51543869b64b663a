import { expect } from "chai";
import { generateApiToken, parseApiToken } from "./api-tokens.js";
import { signAccessToken, verifyAccessToken } from "./access-tokens.js";
import { ACCOUNT_POLICY, lockSeconds } from "./login-throttle.js";
import { assertPasswordPolicy } from "./passwords.js";
import { redact } from "../audit/index.js";
import { effectivePermissions } from "../_shared/permissions.js";
import { TtlCache } from "../_shared/ttl-cache.js";

describe("auth building blocks", () => {
  it("generates API tokens with a 256-bit secret that parse back", () => {
    const t = generateApiToken();
    expect(t.token).to.equal(`stk_${t.prefix}_${t.secret}`);
    expect(Buffer.from(t.secret, "base64url")).to.have.length(32);
    expect(parseApiToken(t.token)).to.deep.equal({ prefix: t.prefix, secret: t.secret });
    expect(parseApiToken("stk_short_x")).to.equal(null);
    expect(parseApiToken(`xyz_${t.prefix}_${t.secret}`)).to.equal(null);
  });

  const settings = {
    keys: [
      { kid: "new", secret: Buffer.alloc(32, 1) },
      { kid: "old", secret: Buffer.alloc(32, 2) },
    ],
    issuer: "stackyard",
    audience: "stackyard-api",
    ttlSeconds: 60,
  };

  it("signs with the first key and verifies with any configured key (rotation)", () => {
    const { token } = signAccessToken(settings, { sub: "u", org: "o", sid: "s" });
    expect(verifyAccessToken(settings, token)).to.deep.equal({ sub: "u", org: "o", sid: "s" });
    const oldOnly = { ...settings, keys: [settings.keys[1]!] };
    const fromOld = signAccessToken(oldOnly, { sub: "u2", org: "o", sid: "s" }).token;
    expect(verifyAccessToken(settings, fromOld).sub).to.equal("u2");
    const withoutOld = { ...settings, keys: [settings.keys[0]!] };
    expect(() => verifyAccessToken(withoutOld, fromOld))
      .to.throw()
      .with.property("type", "INVALID_TOKEN");
  });

  it("locks out exponentially after the free failures, up to the cap", () => {
    expect(lockSeconds(ACCOUNT_POLICY, 5)).to.equal(0);
    expect(lockSeconds(ACCOUNT_POLICY, 6)).to.equal(30);
    expect(lockSeconds(ACCOUNT_POLICY, 7)).to.equal(60);
    expect(lockSeconds(ACCOUNT_POLICY, 30)).to.equal(900);
  });

  it("enforces the password policy", () => {
    expect(() => assertPasswordPolicy("short", "a@b.c"))
      .to.throw()
      .with.property("type", "WEAK_PASSWORD");
    expect(() => assertPasswordPolicy("Someone@Example.test", "someone@example.test")).to.throw(/email/);
    expect(() => assertPasswordPolicy("a perfectly fine passphrase", "a@b.c")).to.not.throw();
  });

  it("redacts secrets from audit data at any depth", () => {
    expect(redact({ name: "x", password: "p", nested: [{ token: "t", ok: 1 }], apiKey: "k" })).to.deep.equal({
      name: "x",
      password: "[redacted]",
      nested: [{ token: "[redacted]", ok: 1 }],
      apiKey: "[redacted]",
    });
  });

  it("narrows a role by token scopes and never widens it", () => {
    expect(effectivePermissions("VIEWER", ["stacks:read", "stacks:write"])).to.deep.equal(["stacks:read"]);
    expect(effectivePermissions("ORG_ADMIN", null)).to.include("users:write");
  });

  it("expires cache entries and evicts the least recently used when full", () => {
    let now = 0;
    const cache = new TtlCache<string>(100, 2, () => now);
    cache.set("a", "A");
    cache.set("b", "B");
    cache.get("a");
    cache.set("c", "C");
    expect(cache.get("b")).to.equal(undefined);
    expect(cache.get("a")).to.equal("A");
    now = 150;
    expect(cache.get("a")).to.equal(undefined);
    cache.set("d", "D");
    expect(cache.deleteWhere((v) => v === "D")).to.equal(1);
  });
});
