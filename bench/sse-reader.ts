/** A minimal SSE client for the deployment event stream: calls `onEvent(seq, at)` per `id:` line received. */
export interface SseReader {
  /** Resolves when the stream ends (an `end` event, the server closing, or `close()`). */
  done: Promise<void>;
  close(): void;
}

export async function readDeploymentEvents(
  url: string,
  headers: Record<string, string>,
  onEvent: (seq: number, at: number) => void,
): Promise<SseReader> {
  const abort = new AbortController();
  const res = await fetch(url, { headers, signal: abort.signal });
  if (res.status !== 200 || !res.body) throw new Error(`SSE ${url} answered ${res.status}`);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  const done = (async () => {
    let buffer = "";
    try {
      for (;;) {
        const { value, done: ended } = await reader.read();
        if (ended) return;
        const at = performance.now();
        buffer += decoder.decode(value, { stream: true });
        let cut: number;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const id = /^id: (\d+)$/m.exec(block);
          if (id) onEvent(Number(id[1]), at);
          if (block.includes("event: end")) return;
        }
      }
    } catch {
      // aborted by close()
    }
  })();
  return { done, close: () => abort.abort() };
}
