/** How results reach the terminal: `--output json|yaml|table`, colours only on a TTY (and never with NO_COLOR). */
import { stringify } from "yaml";
import { UsageError } from "./exit-codes.js";

export const OUTPUT_FORMATS = ["table", "json", "yaml"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function parseOutputFormat(value: string | undefined): OutputFormat {
  if (value === undefined) return "table";
  if ((OUTPUT_FORMATS as readonly string[]).includes(value)) return value as OutputFormat;
  throw new UsageError(`--output must be one of ${OUTPUT_FORMATS.join(", ")} (got "${value}")`);
}

export interface Column<T> {
  header: string;
  value: (row: T) => string | number | boolean | null | undefined;
}

export interface Terminal {
  out(text: string): void;
  err(text: string): void;
  /** stdout is a terminal and colours are allowed. */
  color: boolean;
  /** stderr is a terminal (progress display). */
  interactive: boolean;
}

export function processTerminal(env: NodeJS.ProcessEnv, noColor: boolean): Terminal {
  return {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    color: Boolean(process.stdout.isTTY) && !noColor && env.NO_COLOR === undefined && env.TERM !== "dumb",
    interactive: Boolean(process.stderr.isTTY),
  };
}

const CODES = { red: 31, green: 32, yellow: 33, blue: 34, gray: 90, bold: 1 } as const;
export type Colour = keyof typeof CODES;

export const paint = (term: Terminal, colour: Colour, text: string): string =>
  term.color ? `\u001b[${CODES[colour]}m${text}\u001b[0m` : text;

const cell = (v: unknown): string => (v === null || v === undefined ? "-" : String(v));

export function table<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = rows.map((r) => columns.map((c) => cell(c.value(r)).replace(/\s+/g, " ")));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => row[i]!.length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => (i === values.length - 1 ? v : v.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join("\n") + "\n";
}

/** Prints `data` in the chosen format; `columns` (a list) or `fields` (one object) shape the table form. */
export function print<T>(
  term: Terminal,
  format: OutputFormat,
  data: unknown,
  shape: { rows: readonly T[]; columns: readonly Column<T>[] } | { fields: Array<[string, unknown]> },
): void {
  if (format === "json") return term.out(JSON.stringify(data, null, 2) + "\n");
  if (format === "yaml") return term.out(stringify(data));
  if ("rows" in shape) return term.out(table(shape.rows, shape.columns));
  const width = Math.max(...shape.fields.map(([k]) => k.length));
  term.out(shape.fields.map(([k, v]) => `${(k + ":").padEnd(width + 1)} ${cell(v)}`).join("\n") + "\n");
}
