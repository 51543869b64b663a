/**
 * The browser's half of the session: where the refresh token lives between page loads, and the lock that keeps two
 * tabs from rotating it at once. Kept apart from client.ts so the client runs anywhere (the CLI runs it in Node).
 */
import type { SessionStore } from "./client.js";

export const REFRESH_TOKEN_STORAGE_KEY = "stackyard.refreshToken";

export function localStorageSessionStore(storage: Storage = window.localStorage): SessionStore {
  return {
    load: () => storage.getItem(REFRESH_TOKEN_STORAGE_KEY),
    save: (token) =>
      token === null
        ? storage.removeItem(REFRESH_TOKEN_STORAGE_KEY)
        : storage.setItem(REFRESH_TOKEN_STORAGE_KEY, token),
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
