import { expect } from "chai";
import { Readable } from "node:stream";
import type { BuildServicePayload } from "../../../nats/protocol/messages.js";
import type { DeployEvent } from "../deploy/types.js";
import { DockerStreamError, type BuildEngine } from "./docker-build.js";
import { runBuild } from "./run-build.js";

const svc = (service: string): BuildServicePayload => ({
  service,
  context: service,
  dockerfile: "Dockerfile",
  args: {},
  target: null,
  image: `r:5000/s/${service}:abc-def`,
});

function fakeEngine(
  behaviour: Record<string, "ok" | "fail" | "hang">,
  seen: { concurrent: number; max: number },
): BuildEngine {
  return {
    async build(_ctx, opts, onLine, signal) {
      const service = opts.image.split("/")[2]!.split(":")[0]!;
      seen.concurrent++;
      seen.max = Math.max(seen.max, seen.concurrent);
      try {
        onLine("Step 1/2 : FROM base");
        onLine("Step 2/2 : RUN make");
        await new Promise((r) => setTimeout(r, 5));
        if (behaviour[service] === "fail")
          throw new DockerStreamError("The command '/bin/sh -c make' returned a non-zero code: 2");
        if (behaviour[service] === "hang") {
          await new Promise((_r, reject) => signal.addEventListener("abort", () => reject(new Error("aborted"))));
        }
      } finally {
        seen.concurrent--;
      }
    },
    async push(image) {
      return `sha256:${image.length.toString(16).padStart(64, "0")}`;
    },
  };
}

const request = (services: BuildServicePayload[], concurrency = 2) => ({
  buildId: "b1",
  repoUrl: "file:///repo",
  commit: "0".repeat(40),
  gitAuth: null,
  services,
  registryLogins: [],
  concurrency,
  timeoutSeconds: 60,
});
const checkout = async () => ({
  archive: () => Readable.from([]),
  treeId: async () => "1".repeat(40),
  close: async () => undefined,
});

describe("runBuild (fan-out with bounded concurrency, fan-in of digests, the failing step)", () => {
  it("builds every service at most `concurrency` at a time and reports every pushed digest", async () => {
    const seen = { concurrent: 0, max: 0 };
    const events: DeployEvent[] = [];
    const result = await runBuild(request(["a", "b", "c", "d"].map(svc), 2), {
      engine: fakeEngine({}, seen),
      checkout,
      emit: (e) => events.push(e),
      signal: new AbortController().signal,
      now: Date.now,
    });
    expect(result.status).to.equal("SUCCEEDED");
    if (result.status !== "SUCCEEDED") return;
    expect(Object.keys(result.images).sort()).to.deep.equal(["a", "b", "c", "d"]);
    expect(result.images.a).to.match(/^r:5000\/s\/a@sha256:[0-9a-f]{64}$/);
    expect(seen.max).to.equal(2);
    expect(events.some((e) => e.message === "[c] Step 2/2 : RUN make")).to.equal(true);
  });

  it("fails with the service, the failing step and the builder's last lines", async () => {
    const result = await runBuild(request([svc("a"), svc("b")]), {
      engine: fakeEngine({ b: "fail" }, { concurrent: 0, max: 0 }),
      checkout,
      emit: () => undefined,
      signal: new AbortController().signal,
      now: Date.now,
    });
    expect(result.status).to.equal("FAILED");
    if (result.status !== "FAILED") return;
    expect(result.code).to.equal("BUILD_FAILED");
    expect(result.error).to.equal(
      "service b: step \"RUN make\" failed: The command '/bin/sh -c make' returned a non-zero code: 2",
    );
    expect(result.details).to.deep.include({ service: "b", step: "Step 2/2 : RUN make" });
    expect(result.details.output).to.include("The command '/bin/sh -c make' returned a non-zero code: 2");
  });

  it("ends CANCELED when its signal aborts mid-build", async () => {
    const controller = new AbortController();
    const pending = runBuild(request([svc("a")]), {
      engine: fakeEngine({ a: "hang" }, { concurrent: 0, max: 0 }),
      checkout,
      emit: () => undefined,
      signal: controller.signal,
      now: Date.now,
    });
    setTimeout(() => controller.abort(), 20);
    expect((await pending).status).to.equal("CANCELED");
  });
});
