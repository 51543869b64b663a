import { expect } from "chai";
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("./main.ts", import.meta.url));

/** Runs the real CLI in a child process, with only the given STACKYARD_AGENT_* variables. */
function cli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", MAIN, ...args],
      { env: { PATH: process.env.PATH ?? "", ...env }, timeout: 20_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe("stackyard-agent command line", function () {
  this.timeout(30_000);
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "stackyard-cli-"));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("prints usage", async () => {
    const { code, stdout } = await cli(["help"]);
    expect(code).to.equal(0);
    expect(stdout).to.match(/stackyard-agent register --url/);
  });

  it("exits 2 with every configuration problem and the usage", async () => {
    const { code, stderr } = await cli(["register", "--url", "ftp://x"]);
    expect(code).to.equal(2);
    expect(stderr).to.match(/--url must be https/);
    expect(stderr).to.match(/--token .* is required/);
    expect(stderr).to.match(/Usage:/);
  });

  it("tells the operator to register first", async () => {
    const { code, stdout } = await cli(["run"], { STACKYARD_AGENT_STATE_DIR: dir });
    expect(code).to.equal(1);
    const record = JSON.parse(stdout.trim().split("\n").at(-1)!) as { level: string; code: string; msg: string };
    expect(record).to.deep.include({ level: "error", code: "STATE_MISSING" });
    expect(record.msg).to.match(/stackyard-agent register/);
  });

  it("says when the control plane is unreachable, without printing the token", async () => {
    const { code, stdout } = await cli(["register", "--url", "http://127.0.0.1:9"], {
      STACKYARD_AGENT_TOKEN: "syr_secret_token_value",
      STACKYARD_AGENT_STATE_DIR: join(dir, "state"),
    });
    expect(code).to.equal(1);
    expect(stdout).to.match(/CONTROL_PLANE_UNREACHABLE/);
    expect(stdout).to.not.include("syr_secret_token_value");
  });
});
