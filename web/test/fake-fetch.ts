/** A scripted `fetch` for unit tests: each call is recorded and answered by the handler. */
export interface RecordedRequest {
  method: string;
  path: string;
  search: string;
  authorization: string | null;
  headers: Headers;
  body: unknown;
  signal: AbortSignal | null;
}

export type Handler = (req: RecordedRequest) => Response | Promise<Response>;

export function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

export function apiError(status: number, code: string, details?: unknown): Response {
  return json(status, { error: { code, message: `${code} message`, ...(details === undefined ? {} : { details }) } });
}

export function fakeFetch(handler: Handler): { fetch: typeof fetch; calls: RecordedRequest[] } {
  const calls: RecordedRequest[] = [];
  const fn = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = new URL(String(input), "http://localhost");
    const headers = new Headers(init?.headers);
    const req: RecordedRequest = {
      method: init?.method ?? "GET",
      path: url.pathname,
      search: url.search,
      authorization: headers.get("authorization"),
      headers,
      body: typeof init?.body === "string" ? (JSON.parse(init.body) as unknown) : undefined,
      signal: init?.signal ?? null,
    };
    calls.push(req);
    return handler(req);
  };
  return { fetch: fn as typeof fetch, calls };
}

/** A SessionStore in memory. */
export function memoryStore(initial: string | null = null) {
  let value = initial;
  return { load: () => value, save: (v: string | null) => void (value = v) };
}

export const tokenPair = (n: number, expiresInMs = 900_000) => ({
  tokenType: "Bearer",
  accessToken: `access-${n}`,
  accessTokenExpiresAt: new Date(Date.now() + expiresInMs).toISOString(),
  refreshToken: `refresh-${n}`,
  refreshTokenExpiresAt: new Date(Date.now() + 86_400_000).toISOString(),
});

/**
 * An event-stream response whose body is delivered in the given chunks (strings or raw bytes), one per macrotask,
 * so a reader sees them arrive separately. `cancelled` resolves when the reader hangs up.
 */
export function sseResponse(chunks: Array<string | Uint8Array>, options: { holdOpen?: boolean } = {}) {
  const encoder = new TextEncoder();
  let onCancel: () => void = () => undefined;
  const cancelled = new Promise<void>((resolve) => (onCancel = resolve));
  let i = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      await new Promise((r) => setTimeout(r, 1));
      const chunk = chunks[i++];
      if (chunk === undefined) {
        // Held open: a live stream with nothing more to say (the reader must hang up itself).
        if (options.holdOpen) return new Promise<void>(() => undefined);
        controller.close();
        return;
      }
      controller.enqueue(typeof chunk === "string" ? encoder.encode(chunk) : chunk);
    },
    cancel() {
      onCancel();
    },
  });
  const response = new Response(body, { status: 200, headers: { "content-type": "text/event-stream" } });
  return { response, cancelled };
}

/** The wire form of one deployment event. */
export function sseEvent(event: { seq: number; level?: string; message: string; data?: Record<string, unknown> }) {
  const full = { ts: "2026-01-01T10:00:00.000Z", level: "info", data: {}, ...event };
  return `id: ${event.seq}\nevent: deployment-event\ndata: ${JSON.stringify(full)}\n\n`;
}

export const sseEnd = (id: string, status: string) => `event: end\ndata: ${JSON.stringify({ id, status })}\n\n`;
