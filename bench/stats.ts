import type { Figure } from "./figures.js";

/** Latency summary of a sample in milliseconds. */
export function summarize(samplesMs: number[]): Record<string, number> {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  const round = (n: number): number => Math.round(n * 1000) / 1000;
  return {
    n: sorted.length,
    p50_ms: round(at(0.5)),
    p90_ms: round(at(0.9)),
    p99_ms: round(at(0.99)),
    max_ms: round(at(1)),
  };
}

export async function timeEach(count: number, run: () => Promise<void>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await run();
    samples.push(performance.now() - start);
  }
  return samples;
}

/** p50 and p99 (and the maximum) of a latency sample as figures; goals apply to the matching percentile. */
export function latencyFigures(
  bench: string,
  name: string,
  samplesMs: number[],
  options: { note?: string; goalP50?: number; goalP99?: number } = {},
): Figure[] {
  const s = summarize(samplesMs);
  const note = options.note !== undefined ? { note: options.note } : {};
  return [
    {
      bench,
      name: `${name} p50`,
      value: s.p50_ms!,
      unit: "ms",
      ...(options.goalP50 !== undefined ? { goal: { kind: "max", value: options.goalP50 } } : {}),
      ...note,
    },
    {
      bench,
      name: `${name} p99`,
      value: s.p99_ms!,
      unit: "ms",
      max: s.max_ms!,
      min: sortedMin(samplesMs),
      ...(options.goalP99 !== undefined ? { goal: { kind: "max", value: options.goalP99 } } : {}),
      ...note,
    },
  ];
}

function sortedMin(samples: number[]): number {
  // A loop, not Math.min(...samples): a spread of 100,000+ samples overflows the stack.
  return samples.reduce((a, b) => (b < a ? b : a), samples[0] ?? NaN);
}
