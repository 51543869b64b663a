/**
 * The browser's refresh token in an `HttpOnly; Secure; SameSite=Strict` cookie instead of script-readable
 * storage. A client opts in per request with `x-stackyard-session: cookie` (the web UI always does; the CLI and
 * API clients keep the refresh token in the JSON body). The gateway then sets the cookie on every response that
 * carries a new token pair and leaves the refresh token out of the body, reads it back on `POST
 * /v1/auth/refresh`, and clears it on logout.
 *
 * CSRF: a cookie is sent by the browser whoever made the page, so the cookie-authenticated refresh also requires
 * the custom header (a cross-site form cannot send one, and a cross-origin fetch with it needs a CORS preflight
 * that this gateway never grants) and, when the browser names an Origin, that it is the gateway's own.
 * SameSite=Strict keeps the cookie off cross-site requests in the first place; the checks hold without it too.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { ForbiddenError } from "../_shared/errors.js";

export const SESSION_TRANSPORT_HEADER = "x-stackyard-session";
export const COOKIE_TRANSPORT = "cookie";
export const REFRESH_COOKIE = "stackyard_refresh";
/** Only the auth routes (refresh, logout) ever receive it. */
const COOKIE_PATH = "/v1/auth";

/** Operations whose success carries a new token pair. */
const ISSUING = new Set(["login", "loginMfa", "confirmLoginMfaEnrollment", "refresh"]);

export function wantsCookie(req: IncomingMessage): boolean {
  return req.headers[SESSION_TRANSPORT_HEADER] === COOKIE_TRANSPORT;
}

/** The value of one cookie of the request, or undefined; a malformed header yields nothing. */
export function readCookie(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie;
  if (typeof header !== "string") return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}

/** The request's own origin as the browser sees it (`Host`, and https when the connection or the proxy says so). */
function ownHost(req: IncomingMessage): string | undefined {
  return typeof req.headers.host === "string" ? req.headers.host.toLowerCase() : undefined;
}

/** Throws 403 CSRF_CHECK_FAILED unless the request is one a page of this origin made. */
export function assertSameOriginRequest(req: IncomingMessage): void {
  if (!wantsCookie(req)) {
    throw new ForbiddenError(
      "CSRF_CHECK_FAILED",
      `a refresh with the session cookie must send the ${SESSION_TRANSPORT_HEADER}: ${COOKIE_TRANSPORT} header`,
    );
  }
  const origin = req.headers.origin;
  if (typeof origin !== "string") return;
  let host: string | undefined;
  try {
    host = new URL(origin).host.toLowerCase();
  } catch {
    host = undefined;
  }
  if (!host || host !== ownHost(req)) {
    throw new ForbiddenError("CSRF_CHECK_FAILED", `a refresh with the session cookie from origin ${origin} is refused`);
  }
}

/**
 * Before validation of `POST /v1/auth/refresh`: a body without a refresh token takes the cookie's, after the
 * same-origin checks. Without a cookie the body stays as it is (and the action answers that none was given).
 */
export function takeRefreshTokenFromCookie(req: IncomingMessage, body: Record<string, unknown>): void {
  if (typeof body.refreshToken === "string") return;
  const token = readCookie(req, REFRESH_COOKIE);
  if (token === undefined) return;
  assertSameOriginRequest(req);
  body.refreshToken = token;
}

function cookie(value: string, maxAgeSeconds: number): string {
  return `${REFRESH_COOKIE}=${value}; Path=${COOKIE_PATH}; Max-Age=${maxAgeSeconds}; HttpOnly; Secure; SameSite=Strict`;
}

/**
 * After a successful call: in cookie mode, a new pair's refresh token goes into the cookie and out of the body;
 * a logout clears the cookie. Returns what the client receives.
 */
export function applySessionCookie(
  operationId: string,
  req: IncomingMessage,
  res: ServerResponse,
  data: unknown,
  now = Date.now(),
): unknown {
  if (!wantsCookie(req)) return data;
  if (operationId === "logout") {
    res.setHeader("Set-Cookie", cookie("", 0));
    return data;
  }
  if (!ISSUING.has(operationId) || typeof data !== "object" || data === null) return data;
  const { refreshToken, ...rest } = data as { refreshToken?: unknown; refreshTokenExpiresAt?: unknown };
  if (typeof refreshToken !== "string") return data;
  const expires = typeof rest.refreshTokenExpiresAt === "string" ? Date.parse(rest.refreshTokenExpiresAt) : NaN;
  const maxAge = Number.isFinite(expires) ? Math.max(0, Math.floor((expires - now) / 1000)) : 0;
  res.setHeader("Set-Cookie", cookie(refreshToken, maxAge));
  return rest;
}
