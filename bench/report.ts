/** Prints figures as one table with each goal beside its figure, and writes them as JSON for comparing runs. */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Figure, meets } from "./figures.js";

const resultsDir = join(dirname(fileURLToPath(import.meta.url)), "results");

function round(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  return Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 10 ? n.toFixed(1) : n.toFixed(2);
}

export function formatTable(figures: Figure[]): string {
  const rows = figures.map((f) => {
    const ok = meets(f);
    return [
      f.bench,
      f.name,
      `${round(f.value)} ${f.unit}`,
      f.min !== undefined && f.max !== undefined ? `${round(f.min)}–${round(f.max)}` : "",
      f.goal ? `${f.goal.kind === "max" ? "≤" : "≥"} ${f.goal.value} ${f.unit}` : "",
      ok === undefined ? "" : ok ? "met" : "MISSED",
      f.note ?? "",
    ];
  });
  const header = ["bench", "figure", "value", "min–max", "goal", "", "conditions"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => "| " + cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ") + " |";
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

function commit(): string {
  try {
    return execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
  } catch {
    return "unknown";
  }
}

export interface ResultsFile {
  path: string;
  commit: string;
}

/**
 * Where this run writes: `bench/results/<date>-<commit>.json`, the commit read once at the start (a commit made
 * while a long run goes on does not split its parts across two files), and `-2`, `-3`… after it when an earlier
 * run of the same commit and day already wrote that name (it is kept, not overwritten).
 */
export function resultsFileFor(startedAt: Date): ResultsFile {
  mkdirSync(resultsDir, { recursive: true });
  const sha = commit();
  const base = `${startedAt.toISOString().slice(0, 10)}-${sha}`;
  let path = join(resultsDir, `${base}.json`);
  for (let n = 2; existsSync(path); n++) path = join(resultsDir, `${base}-${n}.json`);
  return { path, commit: sha };
}

/** Writes (again, after each part) the run's figures to its results file. */
export function writeResults(
  file: ResultsFile,
  figures: Figure[],
  startedAt: Date,
  context: Record<string, unknown> = {},
): string {
  const { path, commit: sha } = file;
  const machine = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "",
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
  };
  writeFileSync(
    path,
    JSON.stringify({ commit: sha, startedAt: startedAt.toISOString(), machine, ...context, figures }, null, 2) + "\n",
  );
  return path;
}
