/**
 * The per-user CLI configuration: the API URL, the org, and the credential — an API token, or the rotating refresh
 * token of a password login. It holds a credential, so the file is 0600 in a 0700 directory, written atomically
 * (a crash never leaves half a file), and never printed.
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { CliError, EXIT } from "./exit-codes.js";

export interface CliConfig {
  url?: string;
  orgId?: string;
  /** An API token (`login --token`). */
  token?: string;
  /** The current refresh token of a password login; rotated on every use. */
  refreshToken?: string;
}

export function configPath(env: NodeJS.ProcessEnv): string {
  if (env.STACKYARD_CONFIG) return env.STACKYARD_CONFIG;
  const base = env.XDG_CONFIG_HOME || join(homedir(), ".config");
  return join(base, "stackyard", "config.json");
}

export function readConfig(path: string): CliConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new CliError(EXIT.USAGE, `cannot read ${path}: ${(err as Error).message}`);
  }
  try {
    const value = JSON.parse(text) as unknown;
    if (!value || typeof value !== "object" || Array.isArray(value)) throw new Error("not a JSON object");
    return value as CliConfig;
  } catch (err) {
    throw new CliError(EXIT.USAGE, `${path} is not valid JSON (${(err as Error).message}): fix or delete it`);
  }
}

export function writeConfig(path: string, config: CliConfig): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(config, null, 2) + "\n", { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}
