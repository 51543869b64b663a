/**
 * The preview reaper of one deployments process: every tick it claims previews to destroy (idle past their
 * TTL, or a destroy that did not finish: claimPreviewsToReap, one replica per preview) and destroys them one
 * after the other. A tick never overlaps the previous one; `kick` runs one now.
 */
import type { Db } from "../../_shared/db.js";
import type { RemovalDeps } from "../environment-removal.js";
import { claimPreviewsToReap, destroyPreview } from "./previews.logic.js";

export const PREVIEWS_PER_TICK = 5;

export interface ReaperLogger {
  info(entry: Record<string, unknown>): void;
  warn(entry: Record<string, unknown>): void;
}

export class PreviewReaper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | null = null;

  constructor(
    private readonly deps: { db: Db; removal: () => RemovalDeps },
    private readonly tickMs: number,
    private readonly log: ReaperLogger,
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

  kick(): void {
    if (this.running) return;
    this.running = this.tick()
      .catch((err: unknown) => this.log.warn({ msg: "preview reaper tick failed", err: String(err) }))
      .finally(() => {
        this.running = null;
      });
  }

  private async tick(): Promise<void> {
    for (const claimed of await claimPreviewsToReap(this.deps.db, PREVIEWS_PER_TICK)) {
      try {
        const done = await destroyPreview(
          { db: this.deps.db, removal: this.deps.removal() },
          claimed.org_id,
          claimed.id,
        );
        if (done) this.log.info({ msg: "preview destroyed", previewId: done.id, reason: done.destroy_reason });
      } catch (err) {
        // Left `destroying`: claimed again after the lease.
        const code = (err as { type?: unknown }).type;
        this.log.warn({
          msg: "preview destroy failed; retried later",
          previewId: claimed.id,
          code: typeof code === "string" ? code : "ERROR",
        });
      }
    }
  }
}
