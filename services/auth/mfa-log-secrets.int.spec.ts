import { expect } from "chai";
import sinon from "sinon";
import { TEST_BOOTSTRAP_TOKEN } from "../_shared/testing/platform.js";
import { uniqueName } from "../_shared/testing/fixtures.js";
import { startTestStack, stopTestStack, type TestStack } from "../_shared/testing/stack.js";
import { base32Decode, totp } from "./totp.js";

/**
 * Secret canary for MFA (the pattern of services/_shared/log-secrets.int.spec.ts): enrolment, a wrong code, the
 * two-step login with a code and with a recovery code run with LOG_LEVEL=debug through the real gateway; no TOTP
 * secret, code, recovery code or challenge token may appear in any line the process logs.
 */
describe("no MFA secret or code in any log line at LOG_LEVEL=debug (real gateway, Postgres, NATS)", function () {
  this.timeout(120_000);
  let stack: Partial<TestStack> = {};
  const lines: string[] = [];
  const restore: Array<() => void> = [];

  before(async () => {
    for (const method of ["log", "info", "warn", "error", "debug"] as const) {
      const stub = sinon.stub(console, method).callsFake((...args: unknown[]) => {
        lines.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "));
      });
      restore.push(() => stub.restore());
    }
    stack = await startTestStack({ LOG_LEVEL: "debug" });
  });
  after(async () => {
    await stopTestStack(stack);
    for (const r of restore) r();
  });

  it("logs the MFA requests without the secret, codes, recovery codes or challenges", async () => {
    const api = stack.api!;
    const planted: Record<string, string> = {};
    const name = uniqueName("mfa-canary");
    const email = `${name}@example.test`;
    const password = `canary-password-${Date.now()}-Mf7`;
    const org = await api.request<{ org: { id: string } }>("POST", "/v1/orgs", {
      body: { name, admin: { email, password } },
      headers: { "x-bootstrap-token": TEST_BOOTSTRAP_TOKEN },
    });
    expect(org.status).to.equal(201);
    const orgId = org.body.org.id;
    planted.password = password;
    const login = await api.request<{ accessToken: string }>("POST", "/v1/auth/login", {
      body: { email, password, orgId },
    });
    expect(login.status).to.equal(200);
    const auth = { authorization: `Bearer ${login.body.accessToken}` };

    // MFA: the TOTP secret, the codes, the recovery codes and the login challenge never reach a log line.
    const left = 30_000 - (Date.now() % 30_000);
    if (left < 8_000) await new Promise((r) => setTimeout(r, left + 50));
    const enrolment = await api.request<{ secret: string }>("POST", "/v1/auth/mfa/enrollment", { headers: auth });
    expect(enrolment.status).to.equal(200);
    planted.totpSecret = enrolment.body.secret;
    const codeAt = (steps: number) => totp(base32Decode(enrolment.body.secret), Date.now() + steps * 30_000);
    // Six digits alone could match a timestamp: a code is looked for as the JSON string it would be logged as.
    const wrongCode = String((Number(codeAt(0)) + 500_000) % 1_000_000).padStart(6, "0");
    planted.wrongMfaCode = `"${wrongCode}"`;
    expect(
      (await api.request("POST", "/v1/auth/mfa/enrollment/confirm", { body: { code: wrongCode }, headers: auth }))
        .status,
    ).to.equal(403);
    planted.enrolmentCode = `"${codeAt(-1)}"`;
    const confirmed = await api.request<{ recoveryCodes: string[] }>("POST", "/v1/auth/mfa/enrollment/confirm", {
      body: { code: codeAt(-1) },
      headers: auth,
    });
    expect(confirmed.status).to.equal(200);
    confirmed.body.recoveryCodes.forEach((c, i) => (planted[`recoveryCode${i}`] = c));
    const challenged = await api.request<{ error: { details: { challengeToken: string } } }>("POST", "/v1/auth/login", {
      body: { email, password: password, orgId },
    });
    expect(challenged.status).to.equal(401);
    planted.challengeToken = challenged.body.error.details.challengeToken;
    planted.loginCode = `"${codeAt(0)}"`;
    const second = await api.request("POST", "/v1/auth/login/mfa", {
      body: { challengeToken: planted.challengeToken, code: codeAt(0) },
    });
    expect(second.status).to.equal(200);
    const again = await api.request<{ error: { details: { challengeToken: string } } }>("POST", "/v1/auth/login", {
      body: { email, password: password, orgId },
    });
    planted.secondChallenge = again.body.error.details.challengeToken;
    const byRecovery = await api.request("POST", "/v1/auth/login/mfa", {
      body: { challengeToken: planted.secondChallenge, code: confirmed.body.recoveryCodes[0] },
    });
    expect(byRecovery.status).to.equal(200);

    expect(
      lines.some((l) => l.includes("/v1/auth/login/mfa")),
      "the MFA requests were logged",
    ).to.equal(true);
    const hits = Object.entries(planted).flatMap(([what, value]) =>
      lines.filter((l) => l.includes(value)).map((l) => `${what}: ${l.slice(0, 200)}`),
    );
    expect(hits).to.deep.equal([]);
  });
});
