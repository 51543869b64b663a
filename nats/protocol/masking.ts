/**
 * Secret masking, one rule for the agent (before an event leaves the host) and the control plane (before an event
 * is stored): every known secret value is replaced, longer values first so overlapping ones mask fully.
 */

export const SECRET_MASK = "********";
/** Secret values shorter than this are not masked: masking "1" would mangle every line. */
export const MIN_MASKED_LENGTH = 4;

export interface SecretMasker {
  text(value: string): string;
  /** Masks inside a JSON value (through its serialisation, so keys and nested strings are covered). */
  json<T>(value: T): T;
}

export function secretMasker(values: readonly string[]): SecretMasker {
  const masked = [...new Set(values)].filter((v) => v.length >= MIN_MASKED_LENGTH).sort((a, b) => b.length - a.length);
  const text = (value: string): string => masked.reduce((out, v) => out.split(v).join(SECRET_MASK), value);
  return {
    text,
    json: <T>(value: T): T => (masked.length === 0 ? value : (JSON.parse(text(JSON.stringify(value))) as T)),
  };
}

/** Replaces every known secret value in a line. */
export const maskSecrets = (text: string, values: readonly string[]): string => secretMasker(values).text(text);
