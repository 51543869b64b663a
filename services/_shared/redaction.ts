/**
 * Secrets out of what we keep or print: values under credential-like keys, and strings shaped like our tokens.
 * Every log line of a control-plane process passes through it (moleculer.config.ts installs the formatter below,
 * same JSON shape as moleculer's "json" formatter), and so does the data of every audit event.
 */
import { currentRequestId } from "./request-context.js";

const SENSITIVE_KEY = /pass(word)?|secret|token|value|seed|jwt|key$|authorization|cookie|creds|credential/i;
const SENSITIVE_STRINGS: RegExp[] = [
  /\bstk_[A-Za-z0-9_-]{6,}/g, // API tokens
  /\bsrt_[A-Za-z0-9_-]{16,}/g, // refresh tokens
  /\beyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}/g, // JWTs (access tokens, NATS user JWTs)
  /\bS[UAOCN][A-Z2-7]{56}\b/g, // NKey seeds
  /(Bearer\s+)[^\s'",}]+/gi,
];
const REDACTED = "[redacted]";
const MAX_DEPTH = 8;

export function redactString(text: string): string {
  let out = text;
  for (const pattern of SENSITIVE_STRINGS) {
    out = out.replace(pattern, (match, prefix: unknown) =>
      typeof prefix === "string" ? `${prefix}${REDACTED}` : REDACTED,
    );
  }
  return out;
}

export function redactSecrets(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return redactString(value);
  if (value instanceof Error) {
    const copy = new Error(redactString(value.message));
    copy.name = value.name;
    copy.stack = value.stack ? redactString(value.stack) : undefined;
    return copy;
  }
  if (depth >= MAX_DEPTH || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v, depth + 1));
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([k, v]) => [
      k,
      SENSITIVE_KEY.test(k) && v !== null && v !== undefined && typeof v !== "boolean"
        ? REDACTED
        : redactSecrets(v, depth + 1),
    ]),
  );
}

type PrintArgs = (args: unknown[]) => unknown[];

/** A moleculer logger `formatter` function. */
export function redactingJsonFormatter(
  level: string,
  args: unknown[],
  bindings: Record<string, unknown>,
  helpers: { printArgs: PrintArgs },
): string[] {
  const msg = helpers.printArgs(args.map((a) => redactSecrets(a))).join(" ");
  const requestId = currentRequestId();
  return [
    JSON.stringify({ ts: Date.now(), level, msg: redactString(msg), ...bindings, ...(requestId ? { requestId } : {}) }),
  ];
}
