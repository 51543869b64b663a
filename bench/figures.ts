/**
 * What a benchmark reports: named figures, each with its unit and, where the issue sets one, its goal. The runner
 * prints them as one table and writes them as JSON; nothing here asserts anything.
 */
import { cpus, loadavg } from "node:os";

export interface Goal {
  /** `max`: the figure must be at most `value`; `min`: at least. */
  kind: "max" | "min";
  value: number;
}

export interface Figure {
  /** Which part of `make bench` measured it, e.g. "dispatch", "fleet". */
  bench: string;
  /** What was measured, e.g. "POST → agent holds command p99". */
  name: string;
  value: number;
  unit: string;
  goal?: Goal;
  /** Over repeated runs: the median is `value`, these are the extremes. */
  min?: number;
  max?: number;
  /** A short word on the conditions, e.g. "500 deploys, 50 environments". */
  note?: string;
}

/** A benchmark part: starts what it needs, stops it again, returns its figures. */
export interface Bench {
  name: string;
  /** One line for the table's heading and `make help`. */
  description: string;
  run: () => Promise<Figure[]>;
}

export function meets(figure: Figure): boolean | undefined {
  if (!figure.goal || !Number.isFinite(figure.value)) return undefined;
  return figure.goal.kind === "max" ? figure.value <= figure.goal.value : figure.value >= figure.goal.value;
}

/** The median of repeated runs with its extremes, for figures measured more than once. */
export function medianOf(values: number[]): { value: number; min: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const value = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { value, min: sorted[0] ?? NaN, max: sorted[sorted.length - 1] ?? NaN };
}

/**
 * The machine's 1-minute load average now, as a figure: other work on the machine starves every process measured,
 * so a latency figure means little without it.
 */
export function loadAverageFigure(bench: string): Figure {
  return {
    bench,
    name: "machine load average (1 min) at the end",
    value: Math.round(loadavg()[0]! * 10) / 10,
    unit: "",
    note: `${cpus().length} cores; above ${cpus().length} the processes measured wait for CPU`,
  };
}
