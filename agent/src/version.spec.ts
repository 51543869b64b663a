import { expect } from "chai";
import { readFile } from "node:fs/promises";
import { AGENT_VERSION } from "./version.js";

describe("agent version", () => {
  it("matches package.json", async () => {
    const pkg = JSON.parse(await readFile(new URL("../../package.json", import.meta.url), "utf8")) as {
      version: string;
    };
    expect(AGENT_VERSION).to.equal(pkg.version);
  });
});
