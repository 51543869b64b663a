import { expect } from "chai";
import { ConflictError, TooManyRequestsError, toErrorResponse } from "./errors.js";

describe("errors", () => {
  it("maps an app error to its status and the one error shape", () => {
    const { status, body } = toErrorResponse(
      new ConflictError("STACK_EXISTS", "a stack named web exists", { name: "web" }),
    );
    expect(status).to.equal(409);
    expect(body).to.deep.equal({
      error: { code: "STACK_EXISTS", message: "a stack named web exists", details: { name: "web" } },
    });
  });

  it("keeps code and details after a trip through JSON (as over NATS)", () => {
    const wire = JSON.parse(
      JSON.stringify({ ...new TooManyRequestsError("LOGIN_THROTTLED", "slow down", 30), message: "slow down" }),
    );
    expect(toErrorResponse(wire)).to.deep.equal({
      status: 429,
      body: { error: { code: "LOGIN_THROTTLED", message: "slow down", details: { retryAfterSeconds: 30 } } },
    });
  });

  it("never reveals the message of an unexpected error", () => {
    const { status, body } = toErrorResponse(new Error("password=hunter2 in connection string"));
    expect(status).to.equal(500);
    expect(body).to.deep.equal({ error: { code: "INTERNAL", message: "internal error" } });
  });
});
