import { expect } from "chai";
import type { IncomingMessage } from "node:http";
import { clientInput, isWebSocketUpgrade, TranscriptRecorder, upgradeAuthorization } from "./exec-socket.js";

const request = (headers: Record<string, string>, method = "GET") =>
  ({ method, headers }) as unknown as IncomingMessage;

describe("exec WebSocket frames and upgrade checks", () => {
  it("reads text frames as keystrokes, binary frames by their channel byte, and drops anything else", () => {
    expect(clientInput(Buffer.from("ls\n"), false)).to.deep.equal({ type: "stdin", bytes: Buffer.from("ls\n") });
    expect(clientInput(Buffer.from([0, 3]), true)).to.deep.equal({ type: "stdin", bytes: Buffer.from([3]) });
    expect(clientInput(Buffer.concat([Buffer.from([1]), Buffer.from('{"cols":120,"rows":40}')]), true)).to.deep.equal({
      type: "resize",
      cols: 120,
      rows: 40,
    });
    for (const bad of ['{"cols":0,"rows":40}', '{"cols":1001,"rows":1}', '{"cols":"80","rows":24}', "{not json"]) {
      expect(clientInput(Buffer.concat([Buffer.from([1]), Buffer.from(bad)]), true), bad).to.equal(null);
    }
    expect(clientInput(Buffer.from([7, 1, 2]), true)).to.equal(null);
    expect(clientInput(Buffer.alloc(0), false)).to.equal(null);
  });

  it("takes the credential from Authorization, else from the bearer subprotocol, never from the query", () => {
    expect(upgradeAuthorization(request({ authorization: "Bearer abc" }))).to.equal("Bearer abc");
    expect(
      upgradeAuthorization(request({ "sec-websocket-protocol": "stackyard.exec.v1, stackyard.bearer.eyJ.x.y" })),
    ).to.equal("Bearer eyJ.x.y");
    expect(upgradeAuthorization(request({ "sec-websocket-protocol": "stackyard.exec.v1" }))).to.equal(undefined);
    expect(upgradeAuthorization(request({}))).to.equal(undefined);
  });

  it("accepts only a well-formed version-13 upgrade", () => {
    const good = {
      upgrade: "websocket",
      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      "sec-websocket-version": "13",
    };
    expect(isWebSocketUpgrade(request(good))).to.equal(true);
    expect(isWebSocketUpgrade(request(good, "POST"))).to.equal(false);
    expect(isWebSocketUpgrade(request({ ...good, "sec-websocket-version": "8" }))).to.equal(false);
    expect(isWebSocketUpgrade(request({ ...good, "sec-websocket-key": "short" }))).to.equal(false);
    expect(isWebSocketUpgrade(request({ ...good, upgrade: "h2c" }))).to.equal(false);
  });

  it("keeps the first bytes of input and output, counts the rest, and stores text Postgres accepts", () => {
    const recorder = new TranscriptRecorder({ inputBytes: 4, outputBytes: 6 });
    recorder.recordInput(Buffer.from("ls"));
    recorder.recordInput(Buffer.from(" -la\n"));
    recorder.recordOutput(Buffer.from("a\u0000b"));
    recorder.recordOutput(Buffer.from([0xff, 0x41]));
    recorder.recordOutput(Buffer.from("more output"));
    expect(recorder.transcript()).to.deep.equal({
      input: "ls -",
      output: "a\ufffdb\ufffdAm",
      inputBytes: 7,
      outputBytes: 16,
      truncated: true,
    });
    const small = new TranscriptRecorder({ inputBytes: 100, outputBytes: 100 });
    small.recordInput(Buffer.from("exit\n"));
    expect(small.transcript().truncated).to.equal(false);
  });
});
