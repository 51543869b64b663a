import { expect } from "chai";
import { AppError } from "../_shared/errors.js";
import { checkSwarmStack, defaultSwarmStack, MAX_SWARM_STACK_LENGTH, ownershipLabels } from "./swarm-stack.js";

describe("Swarm stack names", () => {
  it("default to <stack>-<environment>", () => {
    expect(defaultSwarmStack("shop", "staging")).to.equal("shop-staging");
    expect(defaultSwarmStack("shop_api", "dev")).to.equal("shop_api-dev");
  });

  it("stay within Swarm's 63 characters, distinct for distinct long names, and valid", () => {
    const stack = "s".repeat(63);
    const a = defaultSwarmStack(stack, "production-eu-west");
    const b = defaultSwarmStack(stack, "production-eu-east");
    for (const name of [a, b]) {
      expect(name.length).to.be.at.most(MAX_SWARM_STACK_LENGTH);
      expect(checkSwarmStack(name)).to.equal(name);
    }
    expect(a).to.not.equal(b);
    expect(defaultSwarmStack(stack, "production-eu-west"), "deterministic").to.equal(a);
    // A cut that would end in "-" or "_" is trimmed before the hash.
    expect(defaultSwarmStack(`${"a".repeat(53)}-${"b".repeat(9)}`, "x")).to.match(/^a{53}-[0-9a-f]{8}$/);
  });

  it("refuse what Swarm would refuse, with a code", () => {
    for (const bad of ["", "Shop", "-shop", "_shop", "shop.prod", "shop prod", "s".repeat(64)]) {
      expect(() => checkSwarmStack(bad), bad)
        .to.throw(AppError)
        .with.property("type", "SWARM_STACK_INVALID");
    }
    for (const good of ["a", "shop-prod", "shop_prod", "0x", "s".repeat(63)])
      expect(checkSwarmStack(good)).to.equal(good);
  });

  it("label objects with environment, org, release and, for a deployment, its id", () => {
    const base = { orgId: "o", environmentId: "e", releaseId: "r" };
    expect(ownershipLabels(base)).to.deep.equal({
      "io.stackyard.environment": "e",
      "io.stackyard.org": "o",
      "io.stackyard.release": "r",
    });
    expect(ownershipLabels({ ...base, deploymentId: "d" })).to.include({ "io.stackyard.deployment": "d" });
  });
});
