/**
 * The one place the UI talks HTTP: bearer auth, JSON, the API's error shape as `ApiError`, and silent
 * session refresh (rotate the refresh token on 401 TOKEN_EXPIRED, retry once; any other 401 ends the session).
 */
import { readSse, type SseMessage } from "./sse.js";
import type { EnrolledLoginResult, LoginResult, MfaEnrollment, TokenPair } from "./types.js";

/** Status 0: the request never got an HTTP answer. */
export const NETWORK_ERROR = "NETWORK_ERROR";

export class ApiError extends Error {
  override readonly name = "ApiError";

  constructor(
    readonly status: number,
    /** The API's stable `error.code` (e.g. CLUSTER_NOT_FOUND); match on this, never on the message. */
    readonly code: string,
    message: string,
    readonly details?: unknown,
    options?: ErrorOptions,
    /** The API's id of the failed request (X-Request-Id): what to quote when reporting it. */
    readonly requestId?: string,
  ) {
    super(message, options);
  }

  /** For 403 PERMISSION_DENIED: the permission the caller lacks. */
  get missingPermission(): string | null {
    const d = this.details;
    if (d && typeof d === "object" && "missingPermission" in d && typeof d.missingPermission === "string") {
      return d.missingPermission;
    }
    return null;
  }
}

export const isApiError = (e: unknown): e is ApiError => e instanceof ApiError;

/**
 * Where the refresh token lives between page loads. The access token stays in memory only, so a script
 * injected into the page cannot lift a long-lived credential from storage. In the browser (`cookie` transport) the
 * refresh token never reaches script at all: the gateway keeps it in an HttpOnly cookie, and the store only
 * remembers that a session exists. Elsewhere (the CLI) the store holds the token itself.
 */
export interface SessionStore {
  /** The refresh token, or (cookie transport) COOKIE_SESSION when the cookie should hold one; null: none. */
  load(): string | null;
  save(refreshToken: string | null): void;
  /** `cookie`: ask the gateway to keep the refresh token in its HttpOnly cookie. Default `body`. */
  transport?: "body" | "cookie";
}

/** What a cookie-transport store holds instead of the token. */
export const COOKIE_SESSION = "cookie-session";
const SESSION_TRANSPORT_HEADER = "x-stackyard-session";

export type Query = Record<string, string | number | null | undefined>;

export interface RequestOptions {
  body?: unknown;
  query?: Query;
  /** Extra request headers (Idempotency-Key, Last-Event-ID); authorization and content type are the client's. */
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export interface ApiClientOptions {
  store: SessionStore;
  fetch?: typeof fetch;
  /** Prefix of every path; empty means same origin. */
  baseUrl?: string;
  withRefreshLock?: <T>(fn: () => Promise<T>) => Promise<T>;
  now?: () => number;
  /** An API token (the CLI's `--token`): sent as is, never refreshed; a 401 ends the session. */
  apiToken?: string;
}

/** Refresh this long before the access token's stated expiry, so clock skew does not cost a failed request. */
const EXPIRY_MARGIN_MS = 30_000;

interface AccessToken {
  token: string;
  expiresAt: number;
}

type SessionEndedListener = (reason: ApiError) => void;

export class ApiClient {
  private access: AccessToken | null = null;
  private refreshing: Promise<AccessToken> | null = null;
  private readonly listeners = new Set<SessionEndedListener>();
  private readonly fetchImpl: typeof fetch;
  private readonly baseUrl: string;
  private readonly store: SessionStore;
  private readonly withRefreshLock: <T>(fn: () => Promise<T>) => Promise<T>;
  private readonly now: () => number;

  constructor(options: ApiClientOptions) {
    this.store = options.store;
    // Bound: calling an unbound window.fetch throws "Illegal invocation".
    this.fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.baseUrl = options.baseUrl ?? "";
    this.withRefreshLock = options.withRefreshLock ?? ((fn) => fn());
    this.now = options.now ?? Date.now;
    if (options.apiToken) this.access = { token: options.apiToken, expiresAt: Number.POSITIVE_INFINITY };
  }

  /** True when a request can be authenticated without asking for a password. */
  hasSession(): boolean {
    return this.access !== null || this.store.load() !== null;
  }

  /** Called when the session is over (any 401 that a refresh cannot fix); returns an unsubscribe function. */
  onSessionEnded(listener: SessionEndedListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * The password step. With MFA on (or required by the org and not yet set up) it throws a 401 ApiError
   * MFA_REQUIRED (or MFA_ENROLLMENT_REQUIRED) whose details are the challenge for `loginWithCode` (or
   * `startLoginEnrollment`); no session exists until that step succeeds.
   */
  login(input: { email: string; password: string; orgId?: string }): Promise<LoginResult> {
    return this.completeLogin<LoginResult>("/v1/auth/login", input);
  }

  /** Second step: the challenge plus a TOTP code or a recovery code. */
  loginWithCode(input: { challengeToken: string; code: string }): Promise<LoginResult> {
    return this.completeLogin<LoginResult>("/v1/auth/login/mfa", input);
  }

  /** Enrolment the org requires, inside a login: a fresh secret for the challenged account. */
  startLoginEnrollment(challengeToken: string): Promise<MfaEnrollment> {
    return this.send<MfaEnrollment>("POST", "/v1/auth/login/mfa-enrollment", { body: { challengeToken } }, null);
  }

  /** Its first code turns MFA on and completes the login; the recovery codes come back this once. */
  confirmLoginEnrollment(input: { challengeToken: string; code: string }): Promise<EnrolledLoginResult> {
    return this.completeLogin<EnrolledLoginResult>("/v1/auth/login/mfa-enrollment/confirm", input);
  }

  private get cookieMode(): boolean {
    return this.store.transport === "cookie";
  }

  /** The session transport header on the auth routes, in cookie mode. */
  private sessionHeaders(): Record<string, string> {
    return this.cookieMode ? { [SESSION_TRANSPORT_HEADER]: "cookie" } : {};
  }

  private async completeLogin<T extends LoginResult>(path: string, body: unknown): Promise<T> {
    const previous = this.access;
    const result = await this.send<T>("POST", path, { body, headers: this.sessionHeaders() }, null);
    this.keep(result);
    // Switching org opens a new session; end the old one rather than leave it valid until it expires.
    // Not in cookie mode: that logout would clear the cookie the new session just received.
    if (previous) await this.send("POST", "/v1/auth/logout", {}, previous.token).catch(() => undefined);
    return result;
  }

  /** Ends the session on the server (best effort) and forgets every token. */
  async logout(): Promise<void> {
    // After a reload the cookie holds the session but no access token is in memory: get one, so the server
    // ends the session (and clears the cookie) instead of leaving it valid.
    const access =
      this.access ?? (this.cookieMode && this.store.load() !== null ? await this.refresh().catch(() => null) : null);
    this.forget();
    if (access) {
      await this.send("POST", "/v1/auth/logout", { headers: this.sessionHeaders() }, access.token).catch(
        () => undefined,
      );
    }
  }

  get<T>(path: string, query?: Query): Promise<T> {
    return this.request<T>("GET", path, query ? { query } : {});
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>("POST", path, body === undefined ? {} : { body });
  }

  put<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>("PUT", path, body === undefined ? {} : { body });
  }

  patch<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>("PATCH", path, { body });
  }

  delete<T>(path: string, query?: Query): Promise<T> {
    return this.request<T>("DELETE", path, query ? { query } : {});
  }

  request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    return this.authorized((token) => this.send<T>(method, path, options, token));
  }

  /**
   * GETs a server-sent event stream with the session's token (refreshed like any request) and yields its
   * messages. HTTP errors before the stream starts throw `ApiError` from the first iteration; stopping the
   * iteration (or aborting `signal`) closes the connection.
   */
  async *stream(path: string, options: Omit<RequestOptions, "body"> = {}): AsyncGenerator<SseMessage, void, undefined> {
    const res = await this.authorized((token) => this.open("GET", path, options, token, "text/event-stream"));
    if (!res.body) throw new ApiError(res.status, "INVALID_RESPONSE", `Expected an event stream from GET ${path}`);
    yield* readSse(res.body, options.signal);
  }

  /**
   * Opens a WebSocket of the API with the session's token, offered as the subprotocol `stackyard.bearer.<token>`
   * beside `protocol` (a browser cannot set Authorization on a WebSocket; the server selects `protocol`).
   */
  async webSocket(path: string, protocol: string): Promise<WebSocket> {
    const token = await this.currentAccessToken();
    const page = (globalThis as { location?: { href: string } }).location?.href;
    const url = new URL(this.baseUrl + path, page ?? "http://localhost/");
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(url, token ? [protocol, `stackyard.bearer.${token}`] : [protocol]);
    ws.binaryType = "arraybuffer";
    return ws;
  }

  /** Runs `attempt` with the access token; on 401 TOKEN_EXPIRED refreshes once and retries. */
  private async authorized<T>(attempt: (token: string | null) => Promise<T>): Promise<T> {
    let token = await this.currentAccessToken();
    try {
      return await attempt(token);
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 401) throw e;
      if (e.code !== "TOKEN_EXPIRED") throw this.endSession(e);
    }
    token = (await this.refresh()).token;
    try {
      return await attempt(token);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) throw this.endSession(e);
      throw e;
    }
  }

  private async currentAccessToken(): Promise<string | null> {
    if (this.access && this.access.expiresAt - EXPIRY_MARGIN_MS > this.now()) return this.access.token;
    // After a reload only the refresh token is left; without it, the request goes out anonymous and its 401
    // ends the (already absent) session.
    if (!this.access && this.store.load() === null) return null;
    return (await this.refresh()).token;
  }

  /** One refresh at a time per tab; concurrent callers share it. */
  private refresh(): Promise<AccessToken> {
    this.refreshing ??= this.withRefreshLock(() => this.rotate()).finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private async rotate(): Promise<AccessToken> {
    // Read inside the lock: another tab may have rotated the token while this one waited.
    const refreshToken = this.store.load();
    if (refreshToken === null) throw this.endSession(new ApiError(401, "UNAUTHENTICATED", "You are not logged in"));
    try {
      const pair = await this.send<TokenPair>(
        "POST",
        "/v1/auth/refresh",
        this.cookieMode
          ? { body: {}, headers: this.sessionHeaders() }
          : { body: { refreshToken }, headers: this.sessionHeaders() },
        null,
      );
      return this.keep(pair);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) throw this.endSession(e);
      throw e;
    }
  }

  private keep(pair: TokenPair): AccessToken {
    this.access = { token: pair.accessToken, expiresAt: Date.parse(pair.accessTokenExpiresAt) };
    this.store.save(this.cookieMode ? COOKIE_SESSION : (pair.refreshToken ?? null));
    return this.access;
  }

  private forget(): void {
    this.access = null;
    this.store.save(null);
  }

  private endSession(reason: ApiError): ApiError {
    this.forget();
    for (const listener of this.listeners) listener(reason);
    return reason;
  }

  private async send<T>(method: string, path: string, options: RequestOptions, token: string | null): Promise<T> {
    const res = await this.open(method, path, options, token, "application/json");
    if (res.status === 204) return undefined as T;
    const parsed = parseJson(await res.text());
    if (parsed === undefined) {
      throw new ApiError(res.status, "INVALID_RESPONSE", `Expected JSON from ${method} ${path}`);
    }
    return parsed as T;
  }

  /** One HTTP exchange: a network failure or a non-2xx answer becomes an `ApiError`; a 2xx is returned unread. */
  private async open(
    method: string,
    path: string,
    options: RequestOptions,
    token: string | null,
    accept: string,
  ): Promise<Response> {
    const headers: Record<string, string> = { ...options.headers, accept };
    if (token) headers.authorization = `Bearer ${token}`;
    let body: string | undefined;
    if (options.body !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(options.body);
    }
    let res: Response;
    try {
      res = await this.fetchImpl(this.baseUrl + path + queryString(options.query), {
        method,
        headers,
        ...(body !== undefined ? { body } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (cause) {
      if (options.signal?.aborted) throw cause;
      throw new ApiError(
        0,
        NETWORK_ERROR,
        "Cannot reach the Stackyard API. Check your connection and retry.",
        undefined,
        {
          cause,
        },
      );
    }
    if (!res.ok) throw errorFrom(res, parseJson(await res.text()));
    return res;
  }
}

function queryString(query: Query | undefined): string {
  if (!query) return "";
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== "") params.set(k, String(v));
  const s = params.toString();
  return s ? `?${s}` : "";
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function errorFrom(res: Response, body: unknown): ApiError {
  const requestId = res.headers.get("x-request-id") ?? undefined;
  if (body && typeof body === "object" && "error" in body) {
    const err = body.error;
    if (err && typeof err === "object" && "code" in err && typeof err.code === "string") {
      const message = "message" in err && typeof err.message === "string" ? err.message : res.statusText;
      return new ApiError(
        res.status,
        err.code,
        message,
        "details" in err ? err.details : undefined,
        undefined,
        requestId,
      );
    }
  }
  return new ApiError(
    res.status,
    `HTTP_${res.status}`,
    res.statusText || `HTTP ${res.status}`,
    undefined,
    undefined,
    requestId,
  );
}
