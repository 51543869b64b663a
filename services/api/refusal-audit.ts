/**
 * Which refused requests reach the audit log. A mutating request (POST, PUT, PATCH, DELETE) by an authenticated
 * caller that the API refuses as forbidden (403, `request.denied`) or invalid (400, 409, 413, 422,
 * `request.refused`) is audited with the operation, status, code and reason, in the caller's org.
 *
 * Not audited, to keep the log readable and cheap to flood-proof: unauthenticated requests (401: anyone on the
 * internet can send them; login failures have their own throttle), reads, 404s (another org's ids are 404 by
 * design, and a typo is not an event), 429s, and server-side failures (5xx: logged, not the caller's doing).
 * Per gateway process, one actor writes at most REFUSAL_AUDIT_BURST such rows per REFUSAL_AUDIT_WINDOW_MS; the
 * rest are counted and the count goes in the next row written for that actor.
 */
import type { AuditEntry } from "../audit/index.js";
import type { Principal } from "../_shared/principal.js";

const MUTATING = new Set(["POST", "PUT", "PATCH", "DELETE"]);
const AUDITED_STATUSES = new Set([400, 403, 409, 413, 422]);
export const REFUSAL_AUDIT_BURST = 20;
export const REFUSAL_AUDIT_WINDOW_MS = 60_000;
const MAX_REASON_CHARS = 300;
const MAX_TRACKED_ACTORS = 10_000;

export interface RefusedRequest {
  method: string;
  operationId: string;
  /** The route template (`/v1/environments/{envId}/deployments`), never the concrete URL with its query. */
  route: string;
  status: number;
  code: string;
  message: string;
  /** A WebSocket upgrade that acts (exec): a GET, but audited like a mutating request. */
  acting?: boolean;
}

/** The audit entry for a refused request, or null when it is not one the log keeps. */
export function refusalAuditEntry(principal: Principal | null | undefined, refused: RefusedRequest): AuditEntry | null {
  const mutating = MUTATING.has(refused.method) || refused.acting === true;
  if (!principal || !mutating || !AUDITED_STATUSES.has(refused.status)) return null;
  return {
    actorType: principal.actorType,
    actorId: principal.actorId,
    action: refused.status === 403 ? "request.denied" : "request.refused",
    targetType: "operation",
    targetId: refused.operationId,
    data: {
      method: refused.method,
      route: refused.route,
      status: refused.status,
      code: refused.code,
      reason: refused.message.slice(0, MAX_REASON_CHARS),
    },
  };
}

/** A fixed-window budget per actor; `take` answers whether to write, and how many were dropped before. */
export class RefusalAuditBudget {
  private readonly windows = new Map<string, { startedAt: number; used: number; dropped: number }>();

  constructor(
    private readonly burst = REFUSAL_AUDIT_BURST,
    private readonly windowMs = REFUSAL_AUDIT_WINDOW_MS,
    private readonly now: () => number = Date.now,
  ) {}

  take(actorKey: string): { write: boolean; droppedBefore: number } {
    const now = this.now();
    let w = this.windows.get(actorKey);
    if (!w || now - w.startedAt >= this.windowMs) {
      const dropped = w?.dropped ?? 0;
      this.windows.delete(actorKey);
      if (this.windows.size >= MAX_TRACKED_ACTORS) {
        const oldest = this.windows.keys().next().value;
        if (oldest !== undefined) this.windows.delete(oldest);
      }
      w = { startedAt: now, used: 0, dropped };
      this.windows.set(actorKey, w);
    }
    if (w.used >= this.burst) {
      w.dropped += 1;
      return { write: false, droppedBefore: 0 };
    }
    w.used += 1;
    const droppedBefore = w.dropped;
    w.dropped = 0;
    return { write: true, droppedBefore };
  }
}
