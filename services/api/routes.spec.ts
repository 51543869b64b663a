import { expect } from "chai";
import { loadOpenApi } from "../_shared/openapi.js";
import { buildRouteTable } from "./routes.js";

describe("route validation of query parameters", () => {
  const routes = buildRouteTable(loadOpenApi());
  const exec = routes.find((r) => r.operationId === "execTask")!;
  const params = (query: Record<string, unknown>) => ({
    params: { envId: "0b7a3c52-8f0e-4d1c-9a55-2b1e6f7d9c10", service: "app", taskId: "t1" },
    query,
    body: undefined,
  });

  it("takes one occurrence of an exploded array parameter as a one-item array (found by the fuzzer)", () => {
    const one = params({ command: "/bin/sh" });
    exec.validate(one as never);
    expect(one.query.command).to.deep.equal(["/bin/sh"]);
    const two = params({ command: ["/bin/sh", "-l"] });
    exec.validate(two as never);
    expect(two.query.command).to.deep.equal(["/bin/sh", "-l"]);
  });

  it("still refuses what the array's items do not allow", () => {
    expect(() => exec.validate(params({ command: "" }) as never)).to.throw(/query\/command/);
  });
});
