import { expect } from "chai";
import {
  createDockerodeEngine,
  DockerEngineError,
  DockerUnavailableError,
  LogCollector,
  LogDemuxer,
  LogLineSplitter,
  toEngineError,
  toEngineInfo,
} from "./dockerode-engine.js";

function frame(type: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = type;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

describe("LogDemuxer + LogCollector", () => {
  it("demultiplexes frames split anywhere across chunks and parses timestamps", () => {
    const all = Buffer.concat([
      frame(1, "2026-01-01T00:00:01.5Z hello\n2026-01-01T00:00:02Z wor"),
      frame(2, "2026-01-01T00:00:03.000000001Z oops\r\n"),
      frame(1, "ld\n"),
    ]);
    const demux = new LogDemuxer();
    const collector = new LogCollector(1_000);
    for (let i = 0; i < all.length; i += 5) {
      for (const f of demux.push(all.subarray(i, i + 5))) collector.push(f.stream, f.payload);
    }
    expect(collector.finish()).to.deep.equal([
      { stream: "stdout", ts: "2026-01-01T00:00:01.5Z", line: "hello" },
      { stream: "stderr", ts: "2026-01-01T00:00:03.000000001Z", line: "oops" },
      { stream: "stdout", ts: "2026-01-01T00:00:02Z", line: "world" },
    ]);
  });

  it("keeps only the newest lines within maxBytes and caps a single huge line", () => {
    const c = new LogCollector(10);
    c.push("stdout", Buffer.from("aaaa\nbbbb\ncccc\n"));
    expect(c.finish().map((l) => l.line)).to.deep.equal(["bbbb", "cccc"]);
    const big = new LogCollector(8);
    big.push("stdout", Buffer.from("x".repeat(100) + "\n"));
    const [line] = big.finish();
    expect(Buffer.byteLength(line?.line ?? "")).to.be.at.most(8);
    expect(line?.line.endsWith("…")).to.equal(true);
  });
});

describe("LogLineSplitter (followed logs)", () => {
  it("emits each line as it completes, per stream, with its timestamp split off", () => {
    const out: unknown[] = [];
    const splitter = new LogLineSplitter(1024, (l) => out.push(l));
    splitter.push("stdout", Buffer.from("2026-01-01T00:00:00.123456789Z hel"));
    expect(out).to.deep.equal([]);
    splitter.push("stderr", Buffer.from("2026-01-01T00:00:01Z oops\r\n"));
    splitter.push("stdout", Buffer.from("lo\n2026-01-01T00:00:02Z next"));
    expect(out).to.deep.equal([
      { stream: "stderr", ts: "2026-01-01T00:00:01Z", line: "oops" },
      { stream: "stdout", ts: "2026-01-01T00:00:00.123456789Z", line: "hello" },
    ]);
    splitter.finish();
    expect(out.at(-1)).to.deep.equal({ stream: "stdout", ts: "2026-01-01T00:00:02Z", line: "next" });
  });

  it("cuts a line that never ends instead of buffering it without bound", () => {
    const out: Array<{ line: string }> = [];
    const splitter = new LogLineSplitter(16, (l) => out.push(l));
    splitter.push("stdout", Buffer.from("x".repeat(40)));
    expect(out).to.have.length(1);
    expect(Buffer.byteLength(out[0]!.line)).to.be.at.most(16);
  });
});

describe("engine error mapping", () => {
  it("maps socket errors to DockerUnavailableError with a clear message", () => {
    const err = toEngineError(
      Object.assign(new Error("connect ENOENT"), { code: "ENOENT" }),
      "get info",
      "/run/x.sock",
    );
    expect(err).to.be.instanceOf(DockerUnavailableError);
    expect(err.code).to.equal("DOCKER_UNAVAILABLE");
    expect(err.message).to.equal(
      "Docker engine unavailable: socket /run/x.sock does not exist (is dockerd running on this host?)",
    );
    expect(toEngineError(Object.assign(new Error("x"), { code: "EACCES" }), "w", "/s").code).to.equal(
      "DOCKER_UNAVAILABLE",
    );
  });

  it("maps HTTP statuses to stable codes", () => {
    const http = (statusCode: number) => Object.assign(new Error("(HTTP code)"), { statusCode });
    expect(toEngineError(http(404), "inspect service x", "/s").code).to.equal("DOCKER_NOT_FOUND");
    expect(toEngineError(http(409), "create secret", "/s").code).to.equal("DOCKER_CONFLICT");
    expect(toEngineError(http(503), "list services", "/s").code).to.equal("SWARM_UNAVAILABLE");
    const other = toEngineError(http(500), "list services", "/s");
    expect(other).to.be.instanceOf(DockerEngineError);
    expect(other.code).to.equal("DOCKER_API_ERROR");
  });

  it("fails every call on a missing socket with DOCKER_UNAVAILABLE", async () => {
    const engine = createDockerodeEngine({ socketPath: "/nonexistent/docker.sock" });
    for (const call of [() => engine.info(), () => engine.listServices(), () => engine.inspectStack("x")]) {
      try {
        await call();
        expect.fail("expected a rejection");
      } catch (err) {
        expect(err).to.be.instanceOf(DockerUnavailableError);
      }
    }
  });
});

describe("toEngineInfo", () => {
  it("reads swarm facts from docker info", () => {
    const info = toEngineInfo(
      {
        ServerVersion: "20.10.24",
        OperatingSystem: "Debian",
        Architecture: "x86_64",
        Swarm: {
          LocalNodeState: "active",
          ControlAvailable: true,
          NodeID: "n1",
          Nodes: 3,
          Managers: 1,
          Cluster: { ID: "c1" },
        },
      },
      "1.41",
    );
    expect(info).to.deep.equal({
      dockerVersion: "20.10.24",
      apiVersion: "1.41",
      os: "Debian",
      arch: "x86_64",
      swarmState: "active",
      isManager: true,
      nodeId: "n1",
      clusterId: "c1",
      nodeCount: 3,
      managerCount: 1,
    });
    expect(toEngineInfo({ Swarm: { LocalNodeState: "" } }, "1.41")).to.include({
      swarmState: "inactive",
      isManager: false,
      nodeId: null,
    });
  });
});
