import { expect } from "chai";
import { REDACTED, createLogger } from "./logger.js";
import { AgentError } from "./errors.js";

describe("agent logger", () => {
  const capture = (level: "debug" | "info" | "warn" | "error" = "info") => {
    const lines: Array<Record<string, unknown>> = [];
    const log = createLogger({ level, write: (l) => lines.push(JSON.parse(l)), now: () => new Date(0) });
    return { lines, log };
  };

  it("prints one JSON object per line with level, message, bindings and fields", () => {
    const { lines, log } = capture();
    log.child({ clusterId: "c1" }).info("connected", { server: "nats://x" });
    expect(lines).to.deep.equal([
      { ts: "1970-01-01T00:00:00.000Z", level: "info", msg: "connected", clusterId: "c1", server: "nats://x" },
    ]);
  });

  it("drops records below the level", () => {
    const { lines, log } = capture("warn");
    log.info("quiet");
    log.debug("quieter");
    log.warn("loud");
    expect(lines.map((l) => l.msg)).to.deep.equal(["loud"]);
  });

  it("redacts credential-like fields at any depth", () => {
    const { lines, log } = capture();
    log.info("x", { seed: "SUAB", nested: { jwt: "eyJ", registrationToken: "t", ok: 1 }, list: [{ password: "p" }] });
    expect(lines[0]).to.deep.include({
      seed: REDACTED,
      nested: { jwt: REDACTED, registrationToken: REDACTED, ok: 1 },
      list: [{ password: REDACTED }],
    });
    expect(JSON.stringify(lines)).to.not.match(/SUAB|eyJ/);
  });

  it("prints errors as name, code and message without the stack", () => {
    const { lines, log } = capture();
    log.error("failed", { err: new AgentError("DOCKER_UNAVAILABLE", "no socket") });
    expect(lines[0]!.err).to.deep.equal({ name: "AgentError", message: "no socket", code: "DOCKER_UNAVAILABLE" });
  });
});
