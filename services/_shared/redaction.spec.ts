import { expect } from "chai";
import { redactSecrets, redactingJsonFormatter, redactString } from "./redaction.js";

describe("log redaction", () => {
  it("replaces values under credential-like keys at any depth, keeping the shape", () => {
    expect(
      redactSecrets({
        body: { email: "a@b.test", password: "hunter2", admin: { password: "x" } },
        headers: { authorization: "Bearer abc", "x-bootstrap-token": "t" },
        secrets: [{ name: "db", value: "v" }],
        refreshToken: "srt_abc",
        ok: true,
        tokenCount: 3,
      }),
    ).to.deep.equal({
      body: { email: "a@b.test", password: "[redacted]", admin: { password: "[redacted]" } },
      headers: { authorization: "[redacted]", "x-bootstrap-token": "[redacted]" },
      secrets: "[redacted]",
      refreshToken: "[redacted]",
      ok: true,
      tokenCount: "[redacted]",
    });
  });

  it("masks strings shaped like our tokens wherever they appear", () => {
    const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlc2lnbmF0dXJl";
    const seed = `SU${"A".repeat(56)}`;
    const text = `token stk_ab12cd34_${"x".repeat(40)} jwt ${jwt} seed ${seed} refresh srt_${"y".repeat(43)} h Bearer abc.def`;
    const out = redactString(text);
    expect(out).to.not.match(/stk_ab12|eyJhbGci|SUAAAA|srt_yyy|abc\.def/);
    expect(out).to.contain("Bearer [redacted]");
    const err = redactSecrets(new Error(`bad token stk_ab12cd34_${"z".repeat(40)}`)) as Error;
    expect(err.message).to.equal("bad token [redacted]");
  });

  it("formats one JSON line like moleculer's json formatter, already redacted", () => {
    const [line] = redactingJsonFormatter(
      "debug",
      ["login", { password: "hunter2" }],
      { nodeID: "n1", mod: "api" },
      { printArgs: (args) => args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))) },
    );
    const parsed = JSON.parse(line!) as Record<string, unknown>;
    expect(parsed).to.include({ level: "debug", nodeID: "n1", mod: "api" });
    expect(parsed.msg).to.equal('login {"password":"[redacted]"}');
  });
});
