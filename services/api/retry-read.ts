/**
 * Retries an idempotent read across service instances. Core NATS delivers a Moleculer request at most once: a
 * request published while the instance it was balanced to is failing over to another NATS node (its subscription
 * not yet known to the whole cluster) is lost, and would otherwise cost the caller the whole request timeout.
 * Each attempt gets a shorter timeout; the balancer picks the next instance for the retry.
 */
export const READ_ATTEMPTS = 3;
export const READ_ATTEMPT_TIMEOUT_MS = 5_000;

/** Moleculer's errors for a request that got no answer (by name: classes do not survive the bus). */
const RETRYABLE = new Set(["RequestTimeoutError", "ServiceNotAvailableError", "ServiceNotFoundError"]);

export const isRetryableBrokerError = (err: unknown): boolean => err instanceof Error && RETRYABLE.has(err.name);

export async function retryRead<T>(
  call: (timeoutMs: number) => Promise<T>,
  opts: { attempts?: number; timeoutMs?: number } = {},
): Promise<T> {
  const attempts = opts.attempts ?? READ_ATTEMPTS;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call(opts.timeoutMs ?? READ_ATTEMPT_TIMEOUT_MS);
    } catch (err) {
      if (attempt >= attempts || !isRetryableBrokerError(err)) throw err;
    }
  }
}
