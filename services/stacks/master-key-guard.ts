/**
 * The start-up check of CONTROLPLANE_MASTER_KEY. A key that cannot decrypt the stored secrets stops the service
 * at start. When Postgres is unreachable at start the process still comes up (readiness reports the outage) and
 * the check is retried until it gets an answer; meanwhile, and for good if the key then proves wrong, secret
 * writes are refused, so no value is ever stored under a key that does not match the others.
 */
import { ServiceUnavailableError } from "../_shared/errors.js";
import { MasterKeyConfigError } from "./secrets-crypto.js";

export const MASTER_KEY_RETRY_MS = 5_000;

export type MasterKeyState = "unverified" | "verified" | "invalid";

export interface MasterKeyGuardLogger {
  info(entry: Record<string, unknown>): void;
  warn(entry: Record<string, unknown>): void;
  error(entry: Record<string, unknown>): void;
}

export class MasterKeyGuard {
  private current: MasterKeyState = "unverified";
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private logger: MasterKeyGuardLogger | undefined;

  constructor(
    private readonly verify: () => Promise<{ checkedKeyIds: string[] }>,
    private readonly retryMs = MASTER_KEY_RETRY_MS,
  ) {}

  get state(): MasterKeyState {
    return this.current;
  }

  /** Throws MasterKeyConfigError for a wrong key; any other failure (database) is retried in the background. */
  async start(logger: MasterKeyGuardLogger): Promise<void> {
    this.logger = logger;
    this.stopped = false;
    await this.attempt(true);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** Called before anything encrypts with the active key. */
  assertUsable(): void {
    if (this.current === "verified") return;
    throw this.current === "invalid"
      ? new ServiceUnavailableError(
          "MASTER_KEY_INVALID",
          "the configured master key cannot decrypt the stored secrets; secrets cannot be written",
        )
      : new ServiceUnavailableError("MASTER_KEY_UNVERIFIED", "the master key has not been verified yet; retry shortly");
  }

  private async attempt(atStart: boolean): Promise<void> {
    try {
      const { checkedKeyIds } = await this.verify();
      this.current = "verified";
      this.logger?.info({ msg: "master keys verified", keyIdsInUse: checkedKeyIds });
    } catch (err) {
      if (err instanceof MasterKeyConfigError) {
        this.current = "invalid";
        if (atStart) throw err;
        this.logger?.error({ msg: "master key check failed: secret writes are refused", problems: err.problems });
        return;
      }
      this.logger?.warn({ msg: "master key check postponed", reason: (err as Error).message });
      if (!this.stopped) {
        this.timer = setTimeout(() => void this.attempt(false), this.retryMs);
        this.timer.unref();
      }
    }
  }
}
