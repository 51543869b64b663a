/**
 * FollowLogs / RenewLogs / StopLogs: live `docker service logs --follow` of one service, published in batches on
 * the follow's own subject. A follow lives on a lease the control plane renews while its reader is connected, so
 * a reader that vanishes (gateway crash, lost StopLogs) costs the agent at most one lease. Each follow is capped
 * in lines and bytes per second; what is dropped is said in a notice, never silently.
 *
 * Log lines are not masked: the agent does not know the values of the stack's secrets after a deploy (they are
 * Swarm secrets), and GetLogs does not mask either. The filter is a plain substring, never a regex, so a pattern
 * from a user cannot make the agent backtrack.
 */
import type { LogFollowEndReason, LogFollowMessage, LogLine } from "../../../nats/protocol/messages.js";
import type { CommandHandlers } from "../commands.js";
import { findStackService } from "../deploy/scale.js";
import type { DeployEngine } from "../deploy/types.js";
import type { SwarmLogFollower } from "../docker/engine.js";
import { HandlerError } from "./errors.js";

export interface LogFollowLimits {
  /** Follows running at once on this agent. */
  maxFollows: number;
  maxLinesPerSecond: number;
  maxBytesPerSecond: number;
  /** Lines are gathered this long before one message goes out. */
  batchMs: number;
  /** A batch is sent early once its lines reach this many bytes (under the NATS payload cap). */
  maxBatchBytes: number;
  maxLineBytes: number;
  /** How often a follow checks that its lease is valid and its service still exists. */
  checkMs: number;
}

export const DEFAULT_LOG_FOLLOW_LIMITS: LogFollowLimits = {
  maxFollows: 8,
  maxLinesPerSecond: 500,
  maxBytesPerSecond: 256 * 1024,
  batchMs: 100,
  maxBatchBytes: 128 * 1024,
  maxLineBytes: 16 * 1024,
  checkMs: 2_000,
};

export interface LogFollowDeps {
  engine: DeployEngine;
  follower: SwarmLogFollower;
  clusterSubject: (followId: string) => string;
  /** Core NATS publish (at most once): a lost batch is not worth a JetStream write per line. */
  publish: (subject: string, data: Uint8Array) => void;
  now: () => number;
  /** Aborted when the agent stops: every follow ends. */
  signal: AbortSignal;
  limits?: Partial<LogFollowLimits>;
}

interface Follow {
  subject: string;
  leaseUntil: number;
  controller: AbortController;
  end(reason: LogFollowEndReason, message?: string | null): void;
}

export class LogFollowManager {
  private readonly follows = new Map<string, Follow>();
  private readonly limits: LogFollowLimits;

  constructor(private readonly deps: LogFollowDeps) {
    this.limits = { ...DEFAULT_LOG_FOLLOW_LIMITS, ...deps.limits };
    deps.signal.addEventListener("abort", () => this.stopAll("agent_stopping"), { once: true });
  }

  /** Follows running now. */
  get size(): number {
    return this.follows.size;
  }

  handlers(): Pick<CommandHandlers, "FollowLogs" | "RenewLogs" | "StopLogs"> {
    return {
      FollowLogs: async (p) => {
        if (this.follows.has(p.followId)) {
          throw new HandlerError("LOG_FOLLOW_EXISTS", `log follow ${p.followId} is already running`);
        }
        if (this.follows.size >= this.limits.maxFollows) {
          throw new HandlerError(
            "TOO_MANY_LOG_FOLLOWS",
            `this agent already follows ${this.follows.size} logs (at most ${this.limits.maxFollows} at once)`,
          );
        }
        const service = await findStackService(this.deps.engine, p.stackName, p.service);
        const subject = this.deps.clusterSubject(p.followId);
        // Checked again: another FollowLogs may have started while the service was looked up.
        if (this.follows.size >= this.limits.maxFollows) {
          throw new HandlerError("TOO_MANY_LOG_FOLLOWS", `this agent already follows ${this.limits.maxFollows} logs`);
        }
        this.start(p.followId, subject, service.id, p.stackName, service.name, {
          tail: p.tail,
          since: p.since,
          grep: p.grep,
          leaseSeconds: p.leaseSeconds,
        });
        return { followId: p.followId, service: service.name, subject };
      },
      RenewLogs: async (p) => {
        const follow = this.follows.get(p.followId);
        if (follow) follow.leaseUntil = this.deps.now() + p.leaseSeconds * 1000;
        return { followId: p.followId, active: follow !== undefined };
      },
      StopLogs: async (p) => {
        const follow = this.follows.get(p.followId);
        follow?.end("stopped");
        return { followId: p.followId, stopped: follow !== undefined };
      },
    };
  }

  stopAll(reason: LogFollowEndReason): void {
    for (const follow of [...this.follows.values()]) follow.end(reason);
  }

  private start(
    followId: string,
    subject: string,
    serviceId: string,
    stackName: string,
    serviceName: string,
    opts: { tail: number; since: number | null; grep: string | null; leaseSeconds: number },
  ): void {
    const { limits, deps } = this;
    const controller = new AbortController();
    const send = (message: LogFollowMessage) => {
      try {
        deps.publish(subject, new TextEncoder().encode(JSON.stringify(message)));
      } catch {
        // Disconnected: core NATS drops it, as it would a message nobody reads.
      }
    };
    let batch: LogLine[] = [];
    let batchBytes = 0;
    let window = { start: deps.now(), lines: 0, bytes: 0, dropped: 0 };
    const flush = () => {
      if (batch.length > 0) send({ type: "lines", lines: batch });
      batch = [];
      batchBytes = 0;
    };
    const rollWindow = (now: number) => {
      if (now - window.start < 1000) return;
      if (window.dropped > 0) {
        flush();
        send({
          type: "notice",
          message: `rate limited, ${window.dropped} lines dropped (more than ${limits.maxLinesPerSecond} lines or ${limits.maxBytesPerSecond} bytes per second)`,
        });
      }
      window = { start: now, lines: 0, bytes: 0, dropped: 0 };
    };
    const onLine = (line: LogLine) => {
      if (controller.signal.aborted) return;
      if (opts.grep !== null && !line.line.includes(opts.grep)) return;
      const size = Buffer.byteLength(line.line);
      rollWindow(deps.now());
      if (window.lines + 1 > limits.maxLinesPerSecond || window.bytes + size > limits.maxBytesPerSecond) {
        window.dropped += 1;
        return;
      }
      window.lines += 1;
      window.bytes += size;
      batch.push(line);
      batchBytes += size;
      if (batchBytes >= limits.maxBatchBytes) flush();
    };

    let ended = false;
    const follow: Follow = {
      subject,
      leaseUntil: deps.now() + opts.leaseSeconds * 1000,
      controller,
      end: (reason, message = null) => {
        if (ended) return;
        ended = true;
        clearInterval(batchTimer);
        clearInterval(checkTimer);
        controller.abort();
        this.follows.delete(followId);
        rollWindow(Number.POSITIVE_INFINITY);
        flush();
        send({ type: "end", reason, message });
      },
    };
    this.follows.set(followId, follow);

    const batchTimer = setInterval(() => {
      rollWindow(deps.now());
      flush();
    }, limits.batchMs);
    let checking = false;
    const checkTimer = setInterval(() => {
      if (deps.now() > follow.leaseUntil) return follow.end("lease_expired");
      if (checking) return;
      checking = true;
      findStackService(deps.engine, stackName, serviceName)
        .then(
          () => undefined,
          (err: unknown) => {
            if ((err as { code?: unknown }).code === "SERVICE_NOT_FOUND") follow.end("service_gone");
          },
        )
        .finally(() => {
          checking = false;
        });
    }, limits.checkMs);

    deps.follower
      .followServiceLogs(
        serviceId,
        {
          tail: opts.tail,
          ...(opts.since !== null ? { since: opts.since } : {}),
          maxLineBytes: limits.maxLineBytes,
          signal: controller.signal,
        },
        onLine,
      )
      .then(
        // The daemon ended the stream: the service (or its last task) went away, or the daemon restarted.
        () =>
          findStackService(deps.engine, stackName, serviceName).then(
            () => follow.end("error", "the Docker daemon ended the log stream"),
            () => follow.end("service_gone"),
          ),
        (err: unknown) => follow.end("error", err instanceof Error ? err.message.slice(0, 500) : String(err)),
      );
  }
}
