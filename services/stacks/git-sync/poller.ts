/**
 * The git sync poller of one stacks process: every tick it claims due sources (claimDueSources: one replica per
 * source), polls them one after the other, and hands each outcome on (the service asks deployments to bring the
 * automatic environments to the newest release). A tick never overlaps the previous one; `kick` runs one now
 * (a webhook made a source due).
 */
import type { Db } from "../../_shared/db.js";
import {
  claimDueSources,
  pollSource,
  pruneWebhookDeliveries,
  type GitSyncSettings,
  type PollOutcome,
} from "./git-sync.logic.js";

export const SOURCES_PER_TICK = 10;
const PRUNE_EVERY_TICKS = 720;

export interface PollerLogger {
  info(entry: Record<string, unknown>): void;
  warn(entry: Record<string, unknown>): void;
}

export class GitSyncPoller {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | null = null;
  private again = false;
  private ticks = 0;

  constructor(
    private readonly db: Db,
    private readonly settings: GitSyncSettings,
    private readonly tickMs: number,
    private readonly onPolled: (outcome: PollOutcome) => Promise<void>,
    private readonly log: PollerLogger,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.kick(), this.tickMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Runs a tick now, or right after the one in progress. */
  kick(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.tick()
      .catch((err: unknown) => this.log.warn({ msg: "git sync tick failed", err: String(err) }))
      .finally(() => {
        this.running = null;
        if (this.again && this.timer) {
          this.again = false;
          this.kick();
        }
      });
  }

  private async tick(): Promise<void> {
    if (++this.ticks % PRUNE_EVERY_TICKS === 0) await pruneWebhookDeliveries(this.db);
    for (const source of await claimDueSources(this.db, SOURCES_PER_TICK)) {
      const outcome = await pollSource(this.db, source.org_id, source.id, this.settings, "poll", (e) =>
        this.log.warn(e),
      );
      if (outcome.releaseId) {
        this.log.info({
          msg: "git sync released",
          sourceId: source.id,
          commit: outcome.commit,
          releaseId: outcome.releaseId,
        });
      }
      if (outcome.commit) await this.onPolled(outcome);
    }
  }
}
