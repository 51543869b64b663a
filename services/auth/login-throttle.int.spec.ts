import { expect } from "chai";
import type { Db } from "../_shared/db.js";
import { createTestDb } from "../_shared/testing/database.js";
import { parseMasterKeys } from "../_shared/master-keys.js";
import { TEST_MASTER_KEY } from "../_shared/testing/platform.js";
import { login, type AuthDeps } from "./auth.logic.js";
import { ACCOUNT_POLICY, BOOTSTRAP_POLICY, SOURCE_POLICY } from "./login-throttle.js";
import { authorizeOrgCreation, createOrg } from "./orgs.logic.js";

/** The login gates against real Postgres: atomic under bursts, and per address without locking known users out. */
describe("login throttle (real Postgres)", function () {
  this.timeout(120_000);
  let db: Db;
  let deps: AuthDeps;
  const password = "correct horse battery staple";

  before(async () => {
    db = await createTestDb();
    deps = {
      db,
      accessTokens: {
        keys: [{ kid: "t", secret: Buffer.alloc(32, 7) }],
        issuer: "stackyard",
        audience: "stackyard-api",
        ttlSeconds: 60,
      },
      refreshTokenTtlSeconds: 3600,
      sessionMaxLifetimeSeconds: 86_400,
      mfa: { db, masterKeys: parseMasterKeys(TEST_MASTER_KEY) },
    };
  });
  after(() => db.destroy());

  let n = 0;
  const newAccount = async (): Promise<{ email: string; orgId: string }> => {
    const email = `user${++n}-${Date.now()}@throttle.test`;
    const created = await createOrg(
      db,
      { name: `throttle-${n}-${Date.now()}`, admin: { email, password } },
      { bootstrapToken: true },
      { ip: null, userAgent: "test" },
    );
    return { email, orgId: created.org.id };
  };
  const attempt = (email: string, pw: string, ip: string) =>
    login(deps, { email, password: pw }, { ip, userAgent: "test" }).then(
      () => 200,
      (err: { code?: unknown }) => (typeof err.code === "number" ? err.code : 500),
    );

  it("lets at most the account's budget of a 50-attempt parallel burst reach the password check", async () => {
    const { email } = await newAccount();
    const statuses = await Promise.all(
      Array.from({ length: 50 }, (_, i) => attempt(email, `wrong guess ${i}`, `198.51.100.${i}`)),
    );
    const checked = statuses.filter((s) => s === 401).length; // a 401 is only answered after argon2 ran
    expect(checked).to.be.at.most(ACCOUNT_POLICY.freeFailures + 1);
    expect(checked).to.be.at.least(1);
    expect(statuses.filter((s) => s === 429)).to.have.length(50 - checked);
    // The lock holds for the right password too, until it runs out.
    expect(await attempt(email, password, "198.51.100.200")).to.equal(429);
  });

  it("slows a flooding address without locking out an account that logged in from it before", async () => {
    const ip = "203.0.113.9";
    const colleague = await newAccount();
    expect(await attempt(colleague.email, password, ip)).to.equal(200);

    // Someone behind the same address sprays wrong passwords over many accounts, past the address's budget.
    const sprayed = [];
    for (let i = 0; i <= SOURCE_POLICY.freeFailures + 3; i++) {
      sprayed.push(await attempt(`nobody${i}@spray.test`, "wrong password!!", ip));
    }
    expect(sprayed.slice(0, SOURCE_POLICY.freeFailures)).to.deep.equal(Array(SOURCE_POLICY.freeFailures).fill(401));
    expect(sprayed).to.include(429);

    // The colleague's right password still works from that address, at once.
    expect(await attempt(colleague.email, password, ip)).to.equal(200);
    // A first-time login from the flooded address is slowed, not locked out: it gets through after the short wait.
    const newcomer = await newAccount();
    const first = await attempt(newcomer.email, password, ip);
    if (first === 429) {
      await new Promise((r) => setTimeout(r, SOURCE_POLICY.maxLockSeconds * 1000 + 200));
      expect(await attempt(newcomer.email, password, ip)).to.equal(200);
    } else {
      expect(first).to.equal(200);
    }
    // Another address is not affected at all.
    expect(await attempt(newcomer.email, password, "192.0.2.44")).to.equal(200);
  });

  it("keys the account gate per org: locking one org's account leaves the same email in another org alone", async () => {
    const a = await newAccount();
    const b = await newAccount();
    // The same email in a second org: the account gate is per (org, email).
    const sameEmailOtherOrg = await createOrg(
      db,
      { name: `throttle-same-${Date.now()}`, admin: { email: a.email, password } },
      { bootstrapToken: true },
      { ip: null, userAgent: "test" },
    );
    for (let i = 0; i <= ACCOUNT_POLICY.freeFailures; i++) {
      await login(
        deps,
        { email: a.email, password: "wrong password!!", orgId: a.orgId },
        { ip: null, userAgent: "t" },
      ).catch(() => undefined);
    }
    const lockedOut = await login(
      deps,
      { email: a.email, password, orgId: a.orgId },
      { ip: null, userAgent: "t" },
    ).then(
      () => 200,
      (e: { code?: unknown }) => e.code,
    );
    expect(lockedOut).to.equal(429);
    const other = await login(
      deps,
      { email: a.email, password, orgId: sameEmailOtherOrg.org.id },
      { ip: null, userAgent: "t" },
    );
    expect(other.user.orgId).to.equal(sameEmailOtherOrg.org.id);
    expect(await attempt(b.email, password, "192.0.2.45")).to.equal(200);
  });

  it("refuses org creation without the bootstrap credential before any password work", async () => {
    await newAccount(); // the installation is no longer empty
    // A weak password would be a 422 if the password were looked at first: the 403 proves it never is.
    const refused = await createOrg(
      db,
      { name: `late-${Date.now()}`, admin: { email: "late@throttle.test", password: "short" } },
      { bootstrapToken: false },
      { ip: "192.0.2.60", userAgent: "t" },
    ).then(
      () => 201,
      (e: { code?: unknown; type?: string }) => `${String(e.code)} ${e.type}`,
    );
    expect(refused).to.equal("403 ORG_CREATION_FORBIDDEN");
  });

  it("counts wrong bootstrap credentials per address and locks that address out of guessing", async () => {
    const expected = "the-real-bootstrap-credential-0123456789";
    const request = { ip: "198.51.100.77", userAgent: "t" };
    const outcome = (presented: string, req = request) =>
      authorizeOrgCreation(db, expected, presented, req).then(
        (how) => (how.bootstrapToken ? "ok" : "none"),
        (e: { code?: unknown }) => String(e.code),
      );
    for (let i = 0; i <= BOOTSTRAP_POLICY.freeFailures; i++) expect(await outcome(`guess-${i}`)).to.equal("403");
    expect(await outcome("another guess")).to.equal("429");
    expect(await outcome(expected)).to.equal("429"); // no oracle while locked
    expect(await outcome(expected, { ip: "198.51.100.78", userAgent: "t" })).to.equal("ok");
  });
});
