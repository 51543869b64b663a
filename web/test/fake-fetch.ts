/** A scripted `fetch` for unit tests: each call is recorded and answered by the handler. */
export interface RecordedRequest {
  method: string;
  path: string;
  search: string;
  authorization: string | null;
  body: unknown;
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
      body: typeof init?.body === "string" ? (JSON.parse(init.body) as unknown) : undefined,
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
