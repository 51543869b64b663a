/**
 * Values from the JSON Schemas of openapi.yaml: valid ones (to reach the handlers past validation) and the
 * hostile ones a fuzzer mixes in (wrong types, boundary numbers, NUL and unicode, huge strings and arrays).
 */
import type { Rng } from "./prng.js";

export type Schema = Record<string, unknown>;
export type Resolve = (schema: unknown) => Schema;

/** Property names whose value should be a real id of the fuzz world (a random UUID would only ever 404). */
export type IdHints = Record<string, readonly string[]>;

export function makeResolver(components: Record<string, unknown>): Resolve {
  const resolve: Resolve = (schema) => {
    let s = (schema ?? {}) as Schema;
    for (let depth = 0; typeof s.$ref === "string" && depth < 10; depth++) {
      const name = s.$ref.replace(/^#\/components\/schemas\//, "");
      const target = components[name];
      if (!target) throw new Error(`unresolved ${s.$ref}`);
      const { $ref: _ref, ...rest } = s;
      s = { ...(target as Schema), ...rest };
    }
    return s;
  };
  return resolve;
}

/** Strings every text field should survive: NUL, lone surrogates, control and bidi characters, SQL and HTML. */
export const HOSTILE_STRINGS: readonly string[] = [
  "",
  " ",
  "\u0000",
  "a\u0000b",
  "\ud800",
  "\udfff\ud800",
  "\u202e\u0635\u0648\u0631\u0629",
  "😀👍🏽\u200d",
  "\t\r\n",
  "'; drop table orgs; --",
  "<script>alert(1)</script>",
  "%00%ff",
  "../../../../etc/passwd",
  "${jndi:ldap://x}",
  "\\",
  "null",
  "0",
  "-1",
  "1e400",
  "\u00ff\u00fe",
];

export const BOUNDARY_NUMBERS: readonly number[] = [
  0,
  -0,
  1,
  -1,
  0.5,
  2 ** 31 - 1,
  2 ** 31,
  -(2 ** 31) - 1,
  2 ** 53 + 2,
  -(2 ** 53) - 2,
  1e21,
  1e308,
  Number.MIN_VALUE,
];

const ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789";

function randomText(rng: Rng, min: number, max: number): string {
  const len = rng.int(min, Math.max(min, Math.min(max, min + 12)));
  let out = "";
  for (let i = 0; i < len; i++) out += ALNUM[rng.int(0, ALNUM.length - 1)];
  return out;
}

export function randomUuid(rng: Rng): string {
  const hex = () => rng.int(0, 15).toString(16);
  const part = (n: number) => Array.from({ length: n }, hex).join("");
  return `${part(8)}-${part(4)}-4${part(3)}-${rng.pick(["8", "9", "a", "b"])}${part(3)}-${part(12)}`;
}

const PRINTABLE = Array.from({ length: 95 }, (_, k) => String.fromCharCode(32 + k));

/** The printable ASCII characters one atom of a pattern matches: a [class] (negated too), an escape, a literal. */
function charsOf(atom: string): string[] {
  const re = new RegExp(`^(?:${atom})$`);
  return PRINTABLE.filter((c) => re.test(c));
}

/**
 * A string matching the anchored patterns the spec uses: literals, [classes] (ranges, negation, escapes such as
 * \s), escapes, (groups) and the quantifiers {m,n}, +, *, ?. No alternation (the spec has none).
 */
export function stringFromPattern(pattern: string, rng: Rng): string {
  const start = pattern.startsWith("^") ? 1 : 0;
  const end = pattern.endsWith("$") && !pattern.endsWith("\\$") ? pattern.length - 1 : pattern.length;
  return fromSequence(pattern.slice(start, end), rng);
}

function fromSequence(p: string, rng: Rng): string {
  let out = "";
  let i = 0;
  while (i < p.length) {
    let next: () => string;
    if (p[i] === "(") {
      const close = closingParen(p, i);
      const inner = p.slice(p.startsWith("?:", i + 1) ? i + 3 : i + 1, close);
      next = () => fromSequence(inner, rng);
      i = close + 1;
    } else {
      const atomEnd = p[i] === "[" ? p.indexOf("]", i) + 1 : p[i] === "\\" ? i + 2 : i + 1;
      const chars = charsOf(p.slice(i, atomEnd));
      next = () => rng.pick(chars);
      i = atomEnd;
    }
    let min = 1;
    let max = 1;
    const q = p[i];
    if (q === "{") {
      const close = p.indexOf("}", i);
      const [a, b] = p.slice(i + 1, close).split(",");
      min = Number(a);
      max = b === undefined ? min : b === "" ? min + 8 : Number(b);
      i = close + 1;
    } else if (q === "+" || q === "*" || q === "?") {
      min = q === "+" ? 1 : 0;
      max = q === "?" ? 1 : 8;
      i += 1;
    }
    const n = rng.int(min, Math.min(max, min + 10));
    for (let k = 0; k < n; k++) out += next();
  }
  return out;
}

function closingParen(p: string, open: number): number {
  let depth = 0;
  for (let i = open; i < p.length; i++) {
    if (p[i] === "\\") i++;
    else if (p[i] === "[") i = p.indexOf("]", i);
    else if (p[i] === "(") depth++;
    else if (p[i] === ")" && --depth === 0) return i;
  }
  throw new Error(`unbalanced group in pattern ${p}`);
}

function typesOf(s: Schema): string[] {
  if (Array.isArray(s.type)) return s.type as string[];
  if (typeof s.type === "string") return [s.type];
  if (s.properties || s.required) return ["object"];
  if (s.items) return ["array"];
  return [];
}

/** A value the schema accepts. `key` is the property name (for id hints). */
export function validValue(schema: unknown, rng: Rng, resolve: Resolve, hints: IdHints, key = "", depth = 0): unknown {
  const s = resolve(schema);
  if ("const" in s) return s.const;
  if (Array.isArray(s.enum)) return rng.pick(s.enum);
  const hinted = hints[key];
  if (hinted && hinted.length > 0 && (s.format === "uuid" || typesOf(s).includes("string"))) return rng.pick(hinted);
  if (Array.isArray(s.allOf)) {
    // The spec's allOf is "a schema plus more properties": merge the object parts.
    const parts = (s.allOf as unknown[]).map(resolve);
    const merged: Schema = { type: "object", properties: {}, required: [] };
    for (const p of parts) {
      if (!typesOf(p).includes("object")) return validValue(p, rng, resolve, hints, key, depth + 1);
      Object.assign(merged.properties as Schema, p.properties ?? {});
      (merged.required as string[]).push(...((p.required as string[] | undefined) ?? []));
    }
    return validValue(merged, rng, resolve, hints, key, depth + 1);
  }
  const alternatives = (s.oneOf ?? s.anyOf) as unknown[] | undefined;
  if (Array.isArray(alternatives)) return validValue(rng.pick(alternatives), rng, resolve, hints, key, depth + 1);
  const all = typesOf(s);
  // `{ type: "null" }` (an alternative of a nullable oneOf) accepts null alone.
  if (all.length === 1 && all[0] === "null") return null;
  const types = all.filter((t) => t !== "null");
  const type = types.length > 0 ? rng.pick(types) : "string";
  switch (type) {
    case "string": {
      if (s.format === "uuid") return randomUuid(rng);
      if (s.format === "date-time") return new Date(Date.UTC(2026, rng.int(0, 11), rng.int(1, 28))).toISOString();
      if (s.format === "email") return `${randomText(rng, 3, 10)}@example.test`;
      if (s.format === "uri")
        return `https://${randomText(rng, 3, 10)
          .toLowerCase()
          .replace(/[^a-z0-9]/g, "x")}.example.test/`;
      if (typeof s.pattern === "string") return stringFromPattern(s.pattern, rng);
      const min = (s.minLength as number | undefined) ?? 1;
      const max = (s.maxLength as number | undefined) ?? 40;
      return randomText(rng, min, max);
    }
    case "integer":
    case "number": {
      const min = (s.minimum as number | undefined) ?? 0;
      const max = (s.maximum as number | undefined) ?? min + 100;
      return rng.int(min, Math.min(max, min + 100));
    }
    case "boolean":
      return rng.chance(0.5);
    case "array": {
      const min = (s.minItems as number | undefined) ?? 0;
      const max = Math.min((s.maxItems as number | undefined) ?? 3, min + 3);
      const n = depth > 4 ? min : rng.int(min, max);
      const items = Array.from({ length: n }, () => validValue(s.items, rng, resolve, hints, key, depth + 1));
      return s.uniqueItems ? [...new Map(items.map((v) => [JSON.stringify(v), v])).values()] : items;
    }
    case "object": {
      const out: Record<string, unknown> = {};
      const props = (s.properties ?? {}) as Record<string, unknown>;
      const required = new Set((s.required as string[] | undefined) ?? []);
      for (const [name, sub] of Object.entries(props)) {
        if (required.has(name) || (depth < 4 && rng.chance(0.6)))
          out[name] = validValue(sub, rng, resolve, hints, name, depth + 1);
      }
      // minProperties (a PATCH that must change something): the missing ones from the optional properties.
      const min = (s.minProperties as number | undefined) ?? 0;
      for (const [name, sub] of Object.entries(props)) {
        if (Object.keys(out).length >= min) break;
        if (!(name in out)) out[name] = validValue(sub, rng, resolve, hints, name, depth + 1);
      }
      return out;
    }
    default:
      return randomText(rng, 1, 10);
  }
}

/** A value of another JSON type than the schema wants (or a hostile one of the same type). */
export function hostileValue(schema: unknown, rng: Rng, resolve: Resolve): unknown {
  const types = typesOf(resolve(schema));
  const pool: unknown[] = [
    null,
    true,
    rng.pick(BOUNDARY_NUMBERS),
    rng.pick(HOSTILE_STRINGS),
    [],
    [rng.pick(HOSTILE_STRINGS)],
    {},
    { $gt: "" },
    "x".repeat(rng.int(256, 70_000)),
  ];
  const wrong = pool.filter((v) => !types.includes(v === null ? "null" : Array.isArray(v) ? "array" : typeof v));
  return rng.pick(wrong.length > 0 ? wrong : pool);
}
