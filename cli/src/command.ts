/** The shape of one CLI command: its words, its options and positionals (for parsing and help), and what it does. */
import type { ExitCode } from "./exit-codes.js";
import type { Session } from "./session.js";

export interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  /** Shown in help: `--timeout <duration>`. */
  value?: string;
  help: string;
}

export interface Invocation {
  positionals: string[];
  values: Record<string, string | boolean | undefined>;
  /** Standard input, for values that must never appear in argv (passwords, secret values). */
  stdin: () => Promise<Buffer>;
}

export interface Command {
  /** The words that select it: `["clusters", "ls"]`, `["deploy"]`. */
  words: string[];
  /** Positional arguments after the words; a trailing `?` marks an optional one. */
  args: string[];
  summary: string;
  options?: Record<string, OptionSpec>;
  run(session: Session, invocation: Invocation): Promise<ExitCode | void>;
}

export const stringOption = (inv: Invocation, name: string): string | undefined => {
  const v = inv.values[name];
  return typeof v === "string" ? v : undefined;
};
