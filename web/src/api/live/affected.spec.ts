import { expect } from "chai";
import { affectedPaths, keyIsAffected } from "./affected.js";

const ORG = "o1";

describe("affectedPaths (which reads an event makes stale)", () => {
  it("maps each topic of the catalogue to the reads it changes", () => {
    expect(affectedPaths(ORG, "stackyard.o1.deployments.e1.succeeded")).to.include("/v1/environments/e1");
    expect(affectedPaths(ORG, "stackyard.o1.releases.s1.created")).to.include("/v1/stacks/s1/releases");
    expect(affectedPaths(ORG, "stackyard.o1.clusters.c1.status")).to.deep.equal(["/v1/orgs/o1/clusters"]);
    expect(affectedPaths(ORG, "stackyard.o1.clusters.c1.docker.task")).to.include("/v1/orgs/o1/clusters/c1/activity");
    expect(affectedPaths(ORG, "stackyard.o1.clusters.c1.security-warning")).to.deep.equal(["/v1/orgs/o1/clusters"]);
    expect(affectedPaths(ORG, "stackyard.o1.audit.secret.put")).to.deep.equal(["/v1/orgs/o1/audit"]);
  });

  it("ignores another org's subjects and unknown topics", () => {
    expect(affectedPaths(ORG, "stackyard.o2.releases.s1.created")).to.deep.equal([]);
    expect(affectedPaths(ORG, "stackyard.o1.unknown.x.y")).to.deep.equal([]);
    expect(affectedPaths(ORG, "stackyard.o1")).to.deep.equal([]);
  });

  it("matches array keys and the string keys of paged reads", () => {
    const fragments = new Set(["/v1/stacks/s1/releases"]);
    expect(keyIsAffected(["/v1/stacks/s1/releases", { limit: 200 }], fragments)).to.equal(true);
    expect(keyIsAffected('$inf$@"/v1/stacks/s1/releases",', fragments)).to.equal(true);
    expect(keyIsAffected(["/v1/stacks/s2/releases"], fragments)).to.equal(false);
    expect(keyIsAffected(null, fragments)).to.equal(false);
  });
});
