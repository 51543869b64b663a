/**
 * `stackyard`: the command line for pipelines and on-call. Parses the command line, runs one command against the
 * API, prints the result and exits with a documented code (exit-codes.ts, docs/cli.md).
 */
import { parseArgs } from "node:util";
import { ApiError } from "../../web/src/api/client.js";
import type { Command, Invocation, OptionSpec } from "./command.js";
import { authCommands } from "./commands/auth.js";
import { clusterCommands } from "./commands/clusters.js";
import { deployCommands } from "./commands/deploy.js";
import { opsCommands } from "./commands/ops.js";
import { releaseCommands } from "./commands/releases.js";
import { stackCommands } from "./commands/stacks.js";
import { configPath } from "./config-file.js";
import { CliError, EXIT, UsageError, type ExitCode } from "./exit-codes.js";
import { OUTPUT_FORMATS, parseOutputFormat, processTerminal, type Terminal } from "./output.js";
import { describeApiError, Session, DEFAULT_URL } from "./session.js";

export const VERSION = "0.2.0";

export const COMMANDS: Command[] = [
  ...authCommands,
  ...clusterCommands,
  ...stackCommands,
  ...releaseCommands,
  ...deployCommands,
  ...opsCommands,
];

const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  url: {
    type: "string",
    value: "<url>",
    help: `the API (or STACKYARD_URL; default: the saved one, else ${DEFAULT_URL})`,
  },
  org: { type: "string", value: "<org>", help: "the org to act in, by id or name (or STACKYARD_ORG)" },
  output: { type: "string", short: "o", value: OUTPUT_FORMATS.join("|"), help: "output format (default table)" },
  config: {
    type: "string",
    value: "<path>",
    help: "the config file (or STACKYARD_CONFIG; default ~/.config/stackyard/config.json)",
  },
  "no-color": { type: "boolean", help: "no colours (also NO_COLOR, or when stdout is not a terminal)" },
  help: { type: "boolean", short: "h", help: "help for a command" },
  version: { type: "boolean", help: "print the version" },
};

const usageOf = (c: Command) =>
  `stackyard ${[...c.words, ...c.args.map((a) => (a.endsWith("?") ? `[${a.slice(0, -1)}]` : `<${a}>`))].join(" ")}`;

const optionLine = (name: string, o: OptionSpec) =>
  `  ${o.short ? `-${o.short}, ` : "    "}--${name}${o.value ? ` ${o.value}` : ""}`.padEnd(40) + ` ${o.help}`;

export function helpText(command?: Command): string {
  if (command) {
    const opts = Object.entries(command.options ?? {}).map(([n, o]) => optionLine(n, o));
    return (
      [`${usageOf(command)}\n\n${command.summary}`, opts.length ? `\noptions:\n${opts.join("\n")}` : ""].join("\n") +
      "\n"
    );
  }
  const lines = COMMANDS.map((c) => `  ${usageOf(c).slice("stackyard ".length).padEnd(44)} ${c.summary}`);
  const globals = Object.entries(GLOBAL_OPTIONS).map(([n, o]) => optionLine(n, o));
  return `stackyard ${VERSION} — Stackyard from the command line\n\ncommands:\n${lines.join("\n")}\n\nglobal options:\n${globals.join("\n")}\n\nexit codes: 0 ok · 1 deployment FAILED · 2 CANCELED · 3 --timeout passed · 4 refused by the API · 5 API unreachable or failing · 6 not logged in · 64 bad command line\n`;
}

function findCommand(positionals: string[]): { command: Command; rest: string[] } | null {
  for (const c of COMMANDS) {
    if (c.words.every((w, i) => positionals[i] === w)) return { command: c, rest: positionals.slice(c.words.length) };
  }
  return null;
}

const readStdin = async (): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};

export interface RunIo {
  env: NodeJS.ProcessEnv;
  term?: Terminal;
  stdin?: () => Promise<Buffer>;
}

export async function runCli(argv: string[], io: RunIo): Promise<ExitCode> {
  let term: Terminal = io.term ?? processTerminal(io.env, false);
  try {
    const allOptions: Record<string, { type: "string" | "boolean"; short?: string }> = {};
    for (const spec of [GLOBAL_OPTIONS, ...COMMANDS.map((c) => c.options ?? {})]) {
      for (const [name, o] of Object.entries(spec))
        allOptions[name] = { type: o.type, ...(o.short ? { short: o.short } : {}) };
    }
    let parsed;
    try {
      parsed = parseArgs({ args: argv, options: allOptions, allowPositionals: true, strict: true });
    } catch (err) {
      throw new UsageError(`${(err as Error).message} (stackyard --help lists the options)`);
    }
    const values = parsed.values as Record<string, string | boolean | undefined>;
    if (!io.term) term = processTerminal(io.env, values["no-color"] === true);
    if (values.version) {
      term.out(`${VERSION}\n`);
      return EXIT.OK;
    }
    const found = findCommand(parsed.positionals);
    if (!found) {
      if (parsed.positionals.length === 0 || values.help) {
        term.out(helpText());
        return parsed.positionals.length === 0 && !values.help ? EXIT.USAGE : EXIT.OK;
      }
      throw new UsageError(`unknown command "${parsed.positionals.join(" ")}" (stackyard --help lists them)`);
    }
    const { command, rest } = found;
    if (values.help) {
      term.out(helpText(command));
      return EXIT.OK;
    }
    const allowed = new Set([...Object.keys(GLOBAL_OPTIONS), ...Object.keys(command.options ?? {})]);
    const stray = Object.keys(values).filter((k) => values[k] !== undefined && !allowed.has(k));
    if (stray.length > 0) throw new UsageError(`${usageOf(command)} has no option --${stray[0]}`);
    const required = command.args.filter((a) => !a.endsWith("?")).length;
    if (rest.length < required || rest.length > command.args.length) {
      throw new UsageError(`usage: ${usageOf(command)}`);
    }
    const session = new Session({
      configPath: typeof values.config === "string" ? values.config : configPath(io.env),
      env: io.env,
      url: typeof values.url === "string" ? values.url : undefined,
      org: typeof values.org === "string" ? values.org : undefined,
      format: parseOutputFormat(typeof values.output === "string" ? values.output : undefined),
      term,
    });
    const invocation: Invocation = { positionals: rest, values, stdin: io.stdin ?? readStdin };
    return (await command.run(session, invocation)) ?? EXIT.OK;
  } catch (err) {
    const failure = err instanceof ApiError ? describeApiError(err) : err;
    if (failure instanceof CliError) {
      term.err(`stackyard: ${failure.message}\n`);
      return failure.code;
    }
    term.err(`stackyard: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return EXIT.API_UNAVAILABLE;
  }
}
