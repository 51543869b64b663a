import { expect } from "chai";
import type { LogLine } from "../docker/engine.js";
import { HookOutput } from "./hook-output.js";
import type { DeployEvent } from "./types.js";

const line = (n: number, text = `line ${n}`): LogLine => ({
  stream: "stdout",
  ts: `2026-12-03T07:00:${String(n).padStart(2, "0")}Z`,
  line: text,
});

describe("hook output (live, then the rest)", () => {
  it("emits live lines as they come and, at the end, only the lines the follow did not deliver", () => {
    const events: DeployEvent[] = [];
    const out = new HookOutput("post_deploy", (e) => events.push(e));
    out.live(line(1));
    out.live(line(2));
    out.rest([line(1), line(2), line(3)]);
    expect(events.map((e) => [e.message, e.data?.live, e.data?.phase])).to.deep.equal([
      ["line 1", true, "post_deploy"],
      ["line 2", true, "post_deploy"],
      ["line 3", false, "post_deploy"],
    ]);
  });

  it("keeps a line printed twice in the same instant twice", () => {
    const events: DeployEvent[] = [];
    const out = new HookOutput("pre_deploy", (e) => events.push(e));
    out.live(line(1, "same"));
    out.rest([line(1, "same"), line(1, "same")]);
    expect(events.map((e) => e.message)).to.deep.equal(["same", "same"]);
  });

  it("stops the live part at its budget with one warning; the end of the output still comes", () => {
    const events: DeployEvent[] = [];
    const out = new HookOutput("pre_deploy", (e) => events.push(e), { maxLines: 2, maxBytes: 1024, maxLineBytes: 64 });
    for (let n = 1; n <= 5; n++) out.live(line(n));
    out.rest([line(4), line(5)]);
    expect(events.map((e) => e.message)).to.deep.equal([
      "line 1",
      "line 2",
      "pre_deploy hook: live output stopped after 2 lines (12 bytes); the end of its output follows when it ends",
      "line 4",
      "line 5",
    ]);
  });

  it("cuts a line longer than the line limit, live and at the end, and counts bytes against the budget", () => {
    const events: DeployEvent[] = [];
    const out = new HookOutput("pre_deploy", (e) => events.push(e), { maxLines: 10, maxBytes: 100, maxLineBytes: 40 });
    out.live(line(1, "x".repeat(500)));
    out.rest([line(1, "x".repeat(500)), line(2, "y".repeat(500))]);
    expect(events).to.have.length(2);
    for (const e of events) expect(Buffer.byteLength(e.message)).to.be.at.most(40);
    expect(events[1]?.message.startsWith("yyy")).to.equal(true);
  });
});
