import { expect } from "chai";
import { readSse, SseParser, type SseMessage } from "./sse.js";

/** A stream with everything the parser must handle: comments, ids, events, multi-line data, CRLF, non-ASCII. */
const STREAM =
  ": stream open\n\n" +
  'id: 1\nevent: deployment-event\ndata: {"seq":1,"message":"Creating network shop_default"}\n\n' +
  "id: 2\r\nevent: deployment-event\r\ndata: line one\r\ndata: line two\r\n\r\n" +
  ": keep-alive\n\n" +
  "event: deployment-event\rdata:no space, same id\r\r" +
  'id: 3\nevent: deployment-event\ndata: {"message":"état — ✓ 日本"}\n\n' +
  'event: end\ndata: {"id":"d1","status":"SUCCEEDED"}\n\n';

const EXPECTED: SseMessage[] = [
  { event: "deployment-event", data: '{"seq":1,"message":"Creating network shop_default"}', lastEventId: "1" },
  { event: "deployment-event", data: "line one\nline two", lastEventId: "2" },
  { event: "deployment-event", data: "no space, same id", lastEventId: "2" },
  { event: "deployment-event", data: '{"message":"état — ✓ 日本"}', lastEventId: "3" },
  { event: "end", data: '{"id":"d1","status":"SUCCEEDED"}', lastEventId: "3" },
];

const parseChunks = (chunks: string[]): SseMessage[] => {
  const parser = new SseParser();
  return chunks.flatMap((c) => parser.push(c));
};

function bodyOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const c of chunks) controller.enqueue(c);
      controller.close();
    },
  });
}

async function collect(body: ReadableStream<Uint8Array>): Promise<SseMessage[]> {
  const out: SseMessage[] = [];
  for await (const m of readSse(body)) out.push(m);
  return out;
}

describe("SSE parser", () => {
  it("parses a whole stream in one chunk", () => {
    expect(parseChunks([STREAM])).to.deep.equal(EXPECTED);
  });

  it("gives the same messages however the text is cut in two", () => {
    for (let i = 1; i < STREAM.length; i++) {
      expect(parseChunks([STREAM.slice(0, i), STREAM.slice(i)]), `cut at ${i}`).to.deep.equal(EXPECTED);
    }
  });

  it("gives the same messages fed one character at a time (CR and LF of a CRLF in separate chunks)", () => {
    expect(parseChunks([...STREAM])).to.deep.equal(EXPECTED);
    expect(parseChunks(["data: a\r", "\n", "\r", "\n"])).to.deep.equal([
      { event: "message", data: "a", lastEventId: null },
    ]);
  });

  it("returns messages only once they are complete", () => {
    const parser = new SseParser();
    expect(parser.push("event: end\ndata: {}")).to.deep.equal([]);
    expect(parser.push("\n")).to.deep.equal([]);
    expect(parser.push("\n")).to.deep.equal([{ event: "end", data: "{}", lastEventId: null }]);
  });

  it("ignores comments, blocks without data and unknown fields", () => {
    expect(parseChunks([": hello\n\nevent: x\n\nretry: 10\nfoo: bar\ndata\n\n"])).to.deep.equal([
      { event: "message", data: "", lastEventId: null },
    ]);
  });

  it("decodes UTF-8 split inside a character across byte chunks", async () => {
    const bytes = new TextEncoder().encode(STREAM);
    const start = bytes.indexOf(0xe6); // first byte of 日
    for (const cut of [start + 1, start + 2]) {
      const got = await collect(bodyOf([bytes.slice(0, cut), bytes.slice(cut)]));
      expect(got, `cut at byte ${cut}`).to.deep.equal(EXPECTED);
    }
    const oneByteAtATime = await collect(bodyOf([...bytes].map((b) => Uint8Array.of(b))));
    expect(oneByteAtATime).to.deep.equal(EXPECTED);
  });

  it("drops a message the stream ended in the middle of", async () => {
    const got = await collect(bodyOf([new TextEncoder().encode("data: complete\n\ndata: cut off\n")]));
    expect(got).to.deep.equal([{ event: "message", data: "complete", lastEventId: null }]);
  });

  it("cancels the body when the reader stops early", async () => {
    let cancelled = false;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(new TextEncoder().encode("data: tick\n\n"));
      },
      cancel() {
        cancelled = true;
      },
    });
    for await (const m of readSse(body)) {
      expect(m.data).to.equal("tick");
      break;
    }
    expect(cancelled).to.equal(true);
  });
});
