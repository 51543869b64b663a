/** When a failed delivery is tried again: exponential backoff with ±20 % jitter, capped at an hour. */
export const MAX_RETRY_DELAY_MS = 3_600_000;

export function retryDelayMs(attempt: number, baseMs: number, random: () => number = Math.random): number {
  const exponential = Math.min(baseMs * 2 ** Math.max(0, attempt - 1), MAX_RETRY_DELAY_MS);
  return Math.round(exponential * (0.8 + 0.4 * random()));
}

/** The next attempt's time after attempt `attempt` failed, or null when it was the last one allowed. */
export function nextAttemptAt(
  attempt: number,
  maxAttempts: number,
  baseMs: number,
  now: number,
  random?: () => number,
): Date | null {
  return attempt >= maxAttempts ? null : new Date(now + retryDelayMs(attempt, baseMs, random));
}
