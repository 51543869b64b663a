/**
 * The overlay's variables as text a person edits: `KEY=value` lines apply to every service, and lines under a
 * `[service]` header to that service only (which wins). `#` starts a comment line.
 */
import type { EnvOverlay } from "../../api/types.js";

export class OverlayTextError extends Error {
  override readonly name = "OverlayTextError";
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
  }
}

const SECTION = /^\[([a-zA-Z0-9._-]+)\]$/;
const VARIABLE = /^([A-Za-z_][A-Za-z0-9_.-]*)=(.*)$/;

export function parseOverlayText(text: string): EnvOverlay {
  const global: Record<string, string> = {};
  const services: Record<string, Record<string, string>> = {};
  let current = global;
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith("#")) return;
    const section = SECTION.exec(line);
    if (section) {
      const name = section[1] ?? "";
      current = services[name] ??= {};
      return;
    }
    const variable = VARIABLE.exec(raw.trimStart());
    if (!variable) throw new OverlayTextError(i + 1, `expected KEY=value or [service], got “${line}”`);
    const key = variable[1] ?? "";
    if (key in current) throw new OverlayTextError(i + 1, `${key} is set twice`);
    current[key] = variable[2] ?? "";
  });
  const overlay: EnvOverlay = {};
  if (Object.keys(global).length) overlay.global = global;
  if (Object.keys(services).length) overlay.services = services;
  return overlay;
}

export function formatOverlayText(overlay: EnvOverlay): string {
  const lines = Object.entries(overlay.global ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const [service, vars] of Object.entries(overlay.services ?? {})) {
    if (lines.length) lines.push("");
    lines.push(`[${service}]`, ...Object.entries(vars).map(([k, v]) => `${k}=${v}`));
  }
  return lines.length ? `${lines.join("\n")}\n` : "";
}
