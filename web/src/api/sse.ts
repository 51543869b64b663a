/**
 * Server-sent events over `fetch` (EventSource cannot send an Authorization header). The parser follows the
 * WHATWG event-stream rules: CR, LF and CRLF line ends, `:` comments, multi-line `data`, and an `id` that persists
 * across messages. Input arrives in arbitrary chunks, so nothing assumes a line or a message ends with a chunk.
 */

export interface SseMessage {
  /** `event:` of the message; "message" when the server sent none. */
  event: string;
  /** The `data:` lines joined with "\n". */
  data: string;
  /** The last `id:` the stream has set (on this message or an earlier one); what `Last-Event-ID` resumes from. */
  lastEventId: string | null;
}

export class SseParser {
  private pending = "";
  /** A chunk ended in CR: a LF at the start of the next one belongs to the same line end. */
  private afterCr = false;
  private data: string[] = [];
  private event = "";
  private lastEventId: string | null = null;

  /** Feeds decoded text; returns the messages it completed, in order. */
  push(text: string): SseMessage[] {
    let input = text;
    if (this.afterCr && input.startsWith("\n")) input = input.slice(1);
    this.afterCr = false;
    const out: SseMessage[] = [];
    let start = 0;
    for (let i = 0; i < input.length; i++) {
      const c = input.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      const line = this.pending + input.slice(start, i);
      this.pending = "";
      if (c === 13) {
        if (i + 1 === input.length) this.afterCr = true;
        else if (input.charCodeAt(i + 1) === 10) i++;
      }
      start = i + 1;
      const message = this.line(line);
      if (message) out.push(message);
    }
    this.pending += input.slice(start);
    return out;
  }

  private line(line: string): SseMessage | null {
    if (line === "") return this.dispatch();
    if (line.startsWith(":")) return null;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.data.push(value);
    else if (field === "event") this.event = value;
    else if (field === "id" && !value.includes("\0")) this.lastEventId = value;
    // `retry:` and unknown fields are ignored: reconnection timing is the caller's.
    return null;
  }

  private dispatch(): SseMessage | null {
    const data = this.data;
    const event = this.event || "message";
    this.data = [];
    this.event = "";
    if (data.length === 0) return null;
    return { event, data: data.join("\n"), lastEventId: this.lastEventId };
  }
}

/**
 * The messages of an event-stream body as they arrive. Ends when the body ends (a message cut off by the end is
 * dropped, as the standard says); stopping the iteration early, or aborting `signal`, cancels the body — not
 * every fetch implementation ends a body on abort by itself.
 */
export async function* readSse(
  body: ReadableStream<Uint8Array>,
  signal?: AbortSignal,
): AsyncGenerator<SseMessage, void, undefined> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser();
  let done = false;
  const abort = () => void reader.cancel().catch(() => undefined);
  signal?.addEventListener("abort", abort, { once: true });
  try {
    if (signal?.aborted) return;
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) {
        done = true;
        yield* parser.push(decoder.decode());
        return;
      }
      yield* parser.push(decoder.decode(chunk.value, { stream: true }));
    }
  } finally {
    signal?.removeEventListener("abort", abort);
    if (!done) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}
