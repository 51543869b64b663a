import { expect } from "chai";
import {
  BuildSpecError,
  buildPayloads,
  buildSpecs,
  freezeBuiltCompose,
  imageTag,
  normaliseRepoPath,
} from "./build-plan.js";

const DIGEST = `sha256:${"b".repeat(64)}`;

describe("build plan (compose `build:` → what the agent builds, and the frozen compose)", () => {
  it("reads string and mapping forms, resolves contexts against the compose file's directory", () => {
    const yaml = [
      "services:",
      "  web:",
      "    build: ./web",
      "  api:",
      "    build:",
      "      context: ../api",
      "      dockerfile: docker/Dockerfile.prod",
      "      args: [VERSION=1.2, EMPTY=]",
      "      target: runtime",
      "  db:",
      "    image: postgres:16",
      "",
    ].join("\n");
    expect(buildSpecs(yaml, "deploy")).to.deep.equal([
      { service: "web", context: "deploy/web", dockerfile: "Dockerfile", args: {}, target: null },
      {
        service: "api",
        context: "api",
        dockerfile: "docker/Dockerfile.prod",
        args: { VERSION: "1.2", EMPTY: "" },
        target: "runtime",
      },
    ]);
  });

  it("refuses a context that leaves the repository, an absolute path or a URL", () => {
    for (const context of ["../..", "/etc", "https://example.com/repo.git"]) {
      expect(() => buildSpecs(`services:\n  a:\n    build: ${context}\n`, "deploy"), context).to.throw(
        BuildSpecError,
        /inside the repository/,
      );
    }
    expect(normaliseRepoPath("", "./a/./b/../c")).to.equal("a/c");
  });

  it("tags with the commit and a digest of the build definition, the same for the same inputs", () => {
    const [spec] = buildSpecs("services:\n  a:\n    build: .\n", "");
    const commit = "0123456789abcdef0123456789abcdef01234567";
    expect(imageTag(commit, spec!)).to.match(/^0123456789ab-[0-9a-f]{12}$/);
    expect(imageTag(commit, spec!)).to.equal(imageTag(commit, { ...spec! }));
    expect(imageTag(commit, { ...spec!, args: { X: "1" } })).to.not.equal(imageTag(commit, spec!));
    const [payload] = buildPayloads([spec!], "127.0.0.1:5000", "Shop", commit);
    expect(payload!.image).to.match(/^127\.0\.0\.1:5000\/shop\/a:0123456789ab-[0-9a-f]{12}$/);
  });

  it("freezes: build: removed, image set to the pushed digest, everything else kept", () => {
    const yaml = "services:\n  a:\n    build: .\n    command: [sleep, '1'] # kept\n  b:\n    image: busybox\n";
    const frozen = freezeBuiltCompose(yaml, { a: `r:5000/s/a@${DIGEST}` }, { a: "r:5000/s/a" });
    expect(frozen).to.not.include("build:");
    expect(frozen).to.include(`image: r:5000/s/a@${DIGEST}`);
    expect(frozen).to.include("# kept").and.include("image: busybox");
  });

  it("refuses to freeze an image the build was not asked for, or one without a digest", () => {
    const yaml = "services:\n  a:\n    build: .\n";
    expect(() => freezeBuiltCompose(yaml, { a: `elsewhere/a@${DIGEST}` }, { a: "r:5000/s/a" })).to.throw(
      /no pushed digest/,
    );
    expect(() => freezeBuiltCompose(yaml, { a: "r:5000/s/a:latest" }, { a: "r:5000/s/a" })).to.throw(
      /no pushed digest/,
    );
    expect(() => freezeBuiltCompose(yaml, {}, { a: "r:5000/s/a" })).to.throw(/no pushed digest/);
  });
});
