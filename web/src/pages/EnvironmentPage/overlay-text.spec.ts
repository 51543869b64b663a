import { expect } from "chai";
import { formatOverlayText, OverlayTextError, parseOverlayText } from "./overlay-text.js";

describe("overlay variables as text", () => {
  it("reads global variables, per-service sections, comments and values with = and spaces", () => {
    const text = "# shared\nLOG_LEVEL=info\nURL=http://x?a=b\n\n[web]\nPORT=8080\nGREETING= hello world \n[worker]\n";
    expect(parseOverlayText(text)).to.deep.equal({
      global: { LOG_LEVEL: "info", URL: "http://x?a=b" },
      services: { web: { PORT: "8080", GREETING: " hello world " }, worker: {} },
    });
  });

  it("an empty text is an empty overlay", () => {
    expect(parseOverlayText("\n  \n")).to.deep.equal({});
  });

  it("names the line of a malformed entry or a duplicate", () => {
    expect(() => parseOverlayText("A=1\nnot a variable")).to.throw(OverlayTextError, "line 2");
    expect(() => parseOverlayText("[web]\nA=1\nA=2")).to.throw(OverlayTextError, "line 3: A is set twice");
  });

  it("formats what it parses back to the same overlay", () => {
    const overlay = { global: { A: "1" }, services: { web: { B: "x=y" }, db: {} } };
    const text = formatOverlayText(overlay);
    expect(text).to.equal("A=1\n\n[web]\nB=x=y\n\n[db]\n");
    expect(parseOverlayText(text)).to.deep.equal(overlay);
  });
});
