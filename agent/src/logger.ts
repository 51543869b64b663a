/**
 * JSON-lines logger. Fields whose name looks like a credential are replaced before printing, as a second line
 * of defence: callers must not pass the seed, JWT or registration token in the first place.
 */

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(bindings: LogFields): Logger;
}

const SENSITIVE_KEY = /seed|jwt|token|password|secret|creds|authorization|composeYaml|^env$|^value$/i;
const MAX_DEPTH = 5;
export const REDACTED = "[redacted]";

function sanitize(value: unknown, depth: number): unknown {
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return { name: value.name, message: value.message, ...(code !== undefined ? { code } : {}) };
  }
  if (value === null || typeof value !== "object") return typeof value === "bigint" ? String(value) : value;
  if (depth >= MAX_DEPTH) return "[depth]";
  if (Array.isArray(value)) return value.map((v) => sanitize(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    out[k] = SENSITIVE_KEY.test(k) ? REDACTED : sanitize(v, depth + 1);
  }
  return out;
}

export interface LoggerOptions {
  level: LogLevel;
  write?: (line: string) => void;
  now?: () => Date;
  bindings?: LogFields;
}

export function createLogger(opts: LoggerOptions): Logger {
  const write = opts.write ?? ((line: string) => process.stdout.write(line + "\n"));
  const now = opts.now ?? (() => new Date());
  const threshold = LOG_LEVELS.indexOf(opts.level);
  const bindings = opts.bindings ?? {};
  const log =
    (level: LogLevel) =>
    (msg: string, fields: LogFields = {}): void => {
      if (LOG_LEVELS.indexOf(level) < threshold) return;
      const record = sanitize({ ...bindings, ...fields }, 0) as LogFields;
      write(JSON.stringify({ ts: now().toISOString(), level, msg, ...record }));
    };
  return {
    debug: log("debug"),
    info: log("info"),
    warn: log("warn"),
    error: log("error"),
    child: (more) => createLogger({ ...opts, write, now, bindings: { ...bindings, ...more } }),
  };
}
