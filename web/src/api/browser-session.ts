/**
 * The browser's half of the session: where the refresh token lives between page loads, and the lock that keeps two
 * tabs from rotating it at once. Kept apart from client.ts so the client runs anywhere (the CLI runs it in Node).
 */
import { COOKIE_SESSION, type SessionStore } from "./client.js";

/** Where earlier versions kept the refresh token itself: removed on start, never written again. */
export const REFRESH_TOKEN_STORAGE_KEY = "stackyard.refreshToken";
/** Only "a session cookie should exist" (so a reload tries a refresh); the token is in the HttpOnly cookie. */
export const SESSION_MARKER_KEY = "stackyard.session";

export function cookieSessionStore(storage: Storage = window.localStorage): SessionStore {
  storage.removeItem(REFRESH_TOKEN_STORAGE_KEY);
  return {
    transport: "cookie",
    load: () => (storage.getItem(SESSION_MARKER_KEY) === "1" ? COOKIE_SESSION : null),
    save: (token) =>
      token === null ? storage.removeItem(SESSION_MARKER_KEY) : storage.setItem(SESSION_MARKER_KEY, "1"),
  };
}

/**
 * Runs a refresh under a lock shared by every tab of the origin: two tabs presenting the same refresh token
 * would look like token theft and revoke the session. Without Web Locks, refreshes are serialized per tab only.
 */
export function browserRefreshLock<T>(fn: () => Promise<T>): Promise<T> {
  const locks = typeof navigator !== "undefined" ? navigator.locks : undefined;
  return locks ? (locks.request("stackyard-refresh", fn) as Promise<T>) : fn();
}
