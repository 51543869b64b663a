import { expect } from "chai";
import type { Principal } from "../_shared/principal.js";
import { RefusalAuditBudget, refusalAuditEntry, type RefusedRequest } from "./refusal-audit.js";

const principal = { actorType: "user", actorId: "u1", orgId: "o1" } as Principal;
const refused = (over: Partial<RefusedRequest>): RefusedRequest => ({
  method: "POST",
  operationId: "createDeployment",
  route: "/v1/environments/{envId}/deployments",
  status: 403,
  code: "PERMISSION_DENIED",
  message: 'this needs the "deployments:write" permission',
  ...over,
});

describe("refused-request audit", () => {
  it("keeps forbidden and invalid mutating requests of authenticated callers, with the reason", () => {
    expect(refusalAuditEntry(principal, refused({}))).to.deep.equal({
      actorType: "user",
      actorId: "u1",
      action: "request.denied",
      targetType: "operation",
      targetId: "createDeployment",
      data: {
        method: "POST",
        route: "/v1/environments/{envId}/deployments",
        status: 403,
        code: "PERMISSION_DENIED",
        reason: 'this needs the "deployments:write" permission',
      },
    });
    for (const status of [400, 409, 413, 422]) {
      expect(refusalAuditEntry(principal, refused({ status }))?.action).to.equal("request.refused");
    }
  });

  it("drops unauthenticated, read, 404, 429 and 5xx refusals", () => {
    expect(refusalAuditEntry(null, refused({}))).to.equal(null);
    expect(refusalAuditEntry(principal, refused({ method: "GET" }))).to.equal(null);
    for (const status of [401, 404, 429, 500, 502])
      expect(refusalAuditEntry(principal, refused({ status }))).to.equal(null);
  });

  it("caps rows per actor and window, and reports how many were dropped in the next row", () => {
    let now = 0;
    const budget = new RefusalAuditBudget(2, 1000, () => now);
    expect(budget.take("a")).to.deep.equal({ write: true, droppedBefore: 0 });
    expect(budget.take("a")).to.deep.equal({ write: true, droppedBefore: 0 });
    expect(budget.take("a").write).to.equal(false);
    expect(budget.take("a").write).to.equal(false);
    expect(budget.take("b").write).to.equal(true);
    now = 1000;
    expect(budget.take("a")).to.deep.equal({ write: true, droppedBefore: 2 });
    expect(budget.take("a")).to.deep.equal({ write: true, droppedBefore: 0 });
  });
});
