import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { NatsServerExitedError, waitForServer } from "./server.js";

describe("waitForServer (real processes)", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "stackyard-wait-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("fails at once with the end of the log when the process exits before listening", async () => {
    const logFile = join(dir, "exited.log");
    await writeFile(logFile, 'starting\nError listening on port: 127.0.0.1:1, "address already in use"\n');
    const child = spawn(process.execPath, ["-e", "process.exit(1)"], { stdio: "ignore" });
    const started = Date.now();
    const err = await waitForServer(child, "127.0.0.1", 1, { timeoutMs: 20_000, logFile }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(NatsServerExitedError);
    expect((err as Error).message).to.contain("address already in use");
    expect(Date.now() - started).to.be.below(10_000);
  });

  it("resolves once the port accepts connections", async () => {
    const listener: Server = createServer();
    await new Promise<void>((r) => listener.listen(0, "127.0.0.1", r));
    const address = listener.address();
    const port = typeof address === "object" && address ? address.port : 0;
    const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 5000)"], { stdio: "ignore" });
    try {
      await waitForServer(child, "127.0.0.1", port, { timeoutMs: 5_000, logFile: join(dir, "none.log") });
    } finally {
      child.kill();
      listener.close();
    }
  });
});
