/** Reads one histogram from a process's Prometheus endpoint, to diff two scrapes and take quantiles of the change. */

export interface HistogramScrape {
  /** Cumulative counts by upper bound (seconds), ascending, +Inf last. */
  buckets: Array<{ le: number; count: number }>;
  count: number;
  sum: number;
}

export async function scrapeHistogram(url: string, name: string): Promise<HistogramScrape> {
  const text = await (await fetch(url)).text();
  const buckets: HistogramScrape["buckets"] = [];
  let count = 0;
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const bucket = new RegExp(`^${name}_bucket\\{.*le="([^"]+)".*\\} (\\S+)$`).exec(line);
    if (bucket) buckets.push({ le: bucket[1] === "+Inf" ? Infinity : Number(bucket[1]), count: Number(bucket[2]) });
    else if (line.startsWith(`${name}_count`)) count = Number(line.split(" ").pop());
    else if (line.startsWith(`${name}_sum`)) sum = Number(line.split(" ").pop());
  }
  buckets.sort((a, b) => a.le - b.le);
  return { buckets, count, sum };
}

/** What was observed between two scrapes. */
export function histogramDelta(before: HistogramScrape, after: HistogramScrape): HistogramScrape {
  return {
    buckets: after.buckets.map((b, i) => ({ le: b.le, count: b.count - (before.buckets[i]?.count ?? 0) })),
    count: after.count - before.count,
    sum: after.sum - before.sum,
  };
}

/** The upper bound of the bucket holding quantile q: the true quantile is at most this. */
export function quantileUpperBound(h: HistogramScrape, q: number): number {
  const target = q * h.count;
  return h.buckets.find((b) => b.count >= target)?.le ?? NaN;
}
