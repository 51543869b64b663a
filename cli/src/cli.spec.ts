import { expect } from "chai";
import { parseGitSource } from "./commands/releases.js";
import { EXIT } from "./exit-codes.js";
import { runCli } from "./main.js";
import { table, type Terminal } from "./output.js";
import { parseDuration } from "./wait.js";

const captured = () => {
  const out: string[] = [];
  const err: string[] = [];
  const term: Terminal = { out: (t) => out.push(t), err: (t) => err.push(t), color: false, interactive: false };
  return { term, out, err };
};

describe("stackyard CLI (units)", () => {
  it("reads durations as seconds by default, with ms, s, m and h", () => {
    expect(parseDuration("90")).to.equal(90_000);
    expect(parseDuration("250ms")).to.equal(250);
    expect(parseDuration("15m")).to.equal(900_000);
    expect(parseDuration("1h")).to.equal(3_600_000);
    expect(parseDuration("soon")).to.equal(null);
    expect(parseDuration("-5s")).to.equal(null);
  });

  it("splits --git from the right, so URLs with user@ and ports survive", () => {
    expect(parseGitSource("ssh://git@example.com:2222/acme/shop.git@main:deploy/compose.yaml")).to.deep.equal({
      repoUrl: "ssh://git@example.com:2222/acme/shop.git",
      ref: "main",
      path: "deploy/compose.yaml",
    });
    expect(parseGitSource("https://example.com/shop.git@v1.2.3:compose.yaml").ref).to.equal("v1.2.3");
    expect(() => parseGitSource("https://example.com/shop.git")).to.throw(/<repoUrl>@<ref>:<path>/);
  });

  it("aligns tables and shows absent values as -", () => {
    const text = table(
      [
        { a: "x", b: null },
        { a: "longer", b: 2 },
      ],
      [
        { header: "A", value: (r) => r.a },
        { header: "B", value: (r) => r.b },
      ],
    );
    expect(text).to.equal("A       B\nx       -\nlonger  2\n");
  });

  it("answers --help and --version without a server, and 64 for an unknown command", async () => {
    const help = captured();
    expect(await runCli(["--help"], { env: {}, term: help.term })).to.equal(EXIT.OK);
    expect(help.out.join("")).to.include("deploy <env>").and.include("exit codes:");
    const deployHelp = captured();
    expect(await runCli(["deploy", "--help"], { env: {}, term: deployHelp.term })).to.equal(EXIT.OK);
    expect(deployHelp.out.join("")).to.include("--release <version|id>").and.include("--wait");
    const version = captured();
    expect(await runCli(["--version"], { env: {}, term: version.term })).to.equal(EXIT.OK);
    expect(version.out.join("")).to.match(/^\d+\.\d+\.\d+\n$/);
    const unknown = captured();
    expect(await runCli(["frobnicate"], { env: {}, term: unknown.term })).to.equal(EXIT.USAGE);
    expect(unknown.err.join("")).to.include('unknown command "frobnicate"');
  });

  it("refuses to read a secret value from a terminal-less argv slot: secrets set takes no value argument", async () => {
    const run = captured();
    expect(await runCli(["secrets", "set", "shop/prod", "db", "hunter2"], { env: {}, term: run.term })).to.equal(
      EXIT.USAGE,
    );
    expect(run.err.join("")).to.include("usage: stackyard secrets set <env> <name>");
  });
});
