/**
 * A hook's output as deployment events: each line as the job's task prints it (followed live while the job runs),
 * then, once the job ended, the lines of a complete read that the follow had not delivered (the follow is cut at
 * the end, and may start late or drop). Bounded: the live part stops after a budget of lines and bytes, and the
 * complete read is the log's tail, so a chatty hook costs at most about twice the budget. Lines are emitted as the
 * task printed them and nothing else: the control plane masks the environment's secret values in every event.
 */
import type { LogLine } from "../docker/engine.js";
import { truncateUtf8 } from "../docker/dockerode-engine.js";
import type { HookPhase } from "./hooks.js";
import type { DeployEvent, Emit } from "./types.js";

export interface HookOutputLimits {
  /** Lines the live part emits at most (the complete read's tail is as long). */
  maxLines: number;
  /** Bytes of line text the live part emits at most (the complete read's cap is as large). */
  maxBytes: number;
  /** A longer line is cut (JetStream messages are capped at 64 KiB). */
  maxLineBytes: number;
}

export const HOOK_OUTPUT_LIMITS: HookOutputLimits = { maxLines: 1_000, maxBytes: 256 * 1024, maxLineBytes: 16 * 1024 };

/** How much of a line the "already emitted?" key keeps: enough to tell lines apart, whatever cut either read made. */
const KEY_CHARS = 512;

export class HookOutput {
  /** Lines emitted live, by key → how many times (a hook may print one line twice in the same instant). */
  private readonly emitted = new Map<string, number>();
  private lines = 0;
  private bytes = 0;
  private stopped = false;

  constructor(
    private readonly phase: HookPhase,
    private readonly emit: Emit,
    private readonly limits: HookOutputLimits = HOOK_OUTPUT_LIMITS,
  ) {}

  /** A line from the live follow. */
  live(line: LogLine): void {
    if (this.stopped) return;
    const text = truncateUtf8(line.line, this.limits.maxLineBytes);
    const size = Buffer.byteLength(text);
    if (this.lines + 1 > this.limits.maxLines || this.bytes + size > this.limits.maxBytes) {
      this.stopped = true;
      this.emit({
        level: "warn",
        message: `${this.phase} hook: live output stopped after ${this.lines} lines (${this.bytes} bytes); the end of its output follows when it ends`,
        data: { source: "hook", phase: this.phase, lines: this.lines, bytes: this.bytes },
      });
      return;
    }
    this.lines++;
    this.bytes += size;
    const key = keyOf(line);
    this.emitted.set(key, (this.emitted.get(key) ?? 0) + 1);
    this.emit(this.event(line, text, true));
  }

  /** The complete read once the job ended: emits the lines the live part has not. */
  rest(lines: readonly LogLine[]): void {
    for (const line of lines) {
      const key = keyOf(line);
      const count = this.emitted.get(key) ?? 0;
      if (count > 0) {
        this.emitted.set(key, count - 1);
        continue;
      }
      this.emit(this.event(line, truncateUtf8(line.line, this.limits.maxLineBytes), false));
    }
  }

  private event(line: LogLine, text: string, live: boolean): DeployEvent {
    return {
      level: line.stream === "stderr" ? "warn" : "info",
      message: text,
      data: { source: "hook", phase: this.phase, stream: line.stream, live, ...(line.ts ? { ts: line.ts } : {}) },
    };
  }
}

function keyOf(line: LogLine): string {
  return `${line.stream}\u0000${line.ts ?? ""}\u0000${line.line.slice(0, KEY_CHARS)}`;
}
