/**
 * Per-org cap on concurrent git fetches (and host key scans) in this process: one tenant's slow or huge
 * repositories cannot take every git process of a stacks instance. With N stacks processes an org can run N times
 * the cap at most.
 */
import { TooManyRequestsError } from "../../_shared/errors.js";

export const GIT_FETCH_RETRY_AFTER_SECONDS = 5;

export class OrgFetchLimiter {
  private readonly running = new Map<string, number>();

  constructor(readonly perOrg: number) {}

  /** Takes a slot or throws 429 GIT_FETCH_LIMIT; the returned function gives it back (idempotent). */
  acquire(orgId: string): () => void {
    const current = this.running.get(orgId) ?? 0;
    if (current >= this.perOrg) {
      throw new TooManyRequestsError(
        "GIT_FETCH_LIMIT",
        `this organisation already runs ${this.perOrg} git fetch(es); retry when one has finished`,
        GIT_FETCH_RETRY_AFTER_SECONDS,
      );
    }
    this.running.set(orgId, current + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.running.get(orgId) ?? 1) - 1;
      if (left <= 0) this.running.delete(orgId);
      else this.running.set(orgId, left);
    };
  }

  /** Runs `work` holding one of the org's slots. */
  async run<T>(orgId: string, work: () => Promise<T>): Promise<T> {
    const release = this.acquire(orgId);
    try {
      return await work();
    } finally {
      release();
    }
  }
}
