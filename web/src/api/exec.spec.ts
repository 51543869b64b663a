import { expect } from "chai";
import type { ApiClient } from "./client.js";
import { execPath, openExec, type ExecEnd, type ExecStart } from "./exec.js";

/** The socket side the exec client uses, driven by the test. */
class FakeSocket {
  readyState = 1;
  sent: Array<string | Uint8Array> = [];
  onmessage: ((event: { data: ArrayBuffer | string }) => void) | null = null;
  onclose: (() => void) | null = null;
  send(data: string | Uint8Array) {
    this.sent.push(data);
  }
  close() {
    this.readyState = 3;
    this.onclose?.();
  }
  receive(data: ArrayBuffer | string) {
    this.onmessage?.({ data });
  }
}

function setup() {
  const socket = new FakeSocket();
  const opened: Array<{ path: string; protocol: string }> = [];
  const client = {
    webSocket: async (path: string, protocol: string) => {
      opened.push({ path, protocol });
      return socket as unknown as WebSocket;
    },
  } as unknown as ApiClient;
  const seen: { start: ExecStart[]; output: string; end: ExecEnd[] } = { start: [], output: "", end: [] };
  const handlers = {
    onStart: (s: ExecStart) => seen.start.push(s),
    onOutput: (b: Uint8Array) => (seen.output += new TextDecoder().decode(b)),
    onEnd: (e: ExecEnd) => seen.end.push(e),
  };
  return { socket, opened, client, seen, handlers };
}

describe("exec client (the terminal's WebSocket)", () => {
  it("opens the task's exec route with the exec protocol and the terminal's size", async () => {
    const t = setup();
    await openExec(t.client, { envId: "e1", service: "app", taskId: "t1" }, { cols: 100, rows: 28 }, t.handlers);
    expect(t.opened).to.deep.equal([
      { path: "/v1/environments/e1/services/app/tasks/t1/exec?cols=100&rows=28", protocol: "stackyard.exec.v1" },
    ]);
    expect(execPath("e 1", "a/b", "t", { cols: 1, rows: 2 })).to.equal(
      "/v1/environments/e%201/services/a%2Fb/tasks/t/exec?cols=1&rows=2",
    );
  });

  it("reports the start, the output bytes and the exit; sends keys as text and resizes on channel 1", async () => {
    const t = setup();
    const session = await openExec(
      t.client,
      { envId: "e", service: "s", taskId: "t" },
      { cols: 80, rows: 24 },
      t.handlers,
    );
    t.socket.receive(JSON.stringify({ type: "started", sessionId: "x", taskId: "t", nodeId: "n", containerId: "c" }));
    t.socket.receive(new TextEncoder().encode("hello\r\n").buffer);
    session.send("ls\r");
    session.resize(120, 40);
    t.socket.receive(JSON.stringify({ type: "exit", reason: "exited", exitCode: 3, message: null }));
    t.socket.close();
    expect(t.seen.start).to.have.length(1);
    expect(t.seen.output).to.equal("hello\r\n");
    expect(t.seen.end).to.deep.equal([{ reason: "exited", exitCode: 3, message: null }]);
    expect(t.socket.sent[0]).to.equal("ls\r");
    const resize = t.socket.sent[1] as Uint8Array;
    expect(resize[0]).to.equal(1);
    expect(JSON.parse(new TextDecoder().decode(resize.subarray(1)))).to.deep.equal({ cols: 120, rows: 40 });
  });

  it("calls a close before any start a refusal (a browser cannot read the upgrade's status)", async () => {
    const t = setup();
    await openExec(t.client, { envId: "e", service: "s", taskId: "t" }, { cols: 80, rows: 24 }, t.handlers);
    t.socket.close();
    expect(t.seen.end).to.deep.equal([{ reason: "refused", exitCode: null, message: null }]);
  });
});
