/**
 * CONTROLPLANE_MASTER_KEY: one or more AES-256 master keys for environment secrets (`k2:<base64>,k1:<base64>`;
 * the first encrypts, all decrypt). Parsed by config.ts at boot; used by the secrets code in stacks/.
 */

export const MASTER_KEY_BYTES = 32;
const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;
const BASE64_PATTERN = /^[A-Za-z0-9+/]+={0,2}$/;

export interface MasterKeys {
  /** The key id new values are encrypted under. */
  activeKeyId: string;
  keys: ReadonlyMap<string, Buffer>;
}

/** Configuration problems; names key ids, never key material. */
export class MasterKeyConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid CONTROLPLANE_MASTER_KEY: ${problems.join("; ")}`);
    this.name = "MasterKeyConfigError";
  }
}

/** `k1:<base64 of 32 bytes>[,k2:<...>]`; every problem is reported at once. */
export function parseMasterKeys(spec: string): MasterKeys {
  const problems: string[] = [];
  const keys = new Map<string, Buffer>();
  const entries = spec
    .split(",")
    .map((e) => e.trim())
    .filter((e) => e !== "");
  if (entries.length === 0) problems.push("no key given (expected `<id>:<base64 of 32 bytes>`)");
  entries.forEach((entry, index) => {
    const colon = entry.indexOf(":");
    const where = `entry ${index + 1}`;
    if (colon < 0) {
      problems.push(`${where} is not of the form <id>:<base64>`);
      return;
    }
    const id = entry.slice(0, colon);
    const material = entry.slice(colon + 1);
    if (!KEY_ID_PATTERN.test(id)) {
      problems.push(`${where}: key id must be 1-32 of A-Z a-z 0-9 _ -`);
      return;
    }
    if (keys.has(id)) {
      problems.push(`key id "${id}" appears twice`);
      return;
    }
    const bytes = Buffer.from(material, "base64");
    if (!BASE64_PATTERN.test(material) || bytes.toString("base64").replace(/=+$/, "") !== material.replace(/=+$/, "")) {
      problems.push(`key "${id}" is not valid base64`);
      return;
    }
    if (bytes.length !== MASTER_KEY_BYTES) {
      problems.push(`key "${id}" is ${bytes.length} bytes; AES-256 needs ${MASTER_KEY_BYTES}`);
      return;
    }
    keys.set(id, bytes);
  });
  const activeKeyId = keys.keys().next().value;
  if (problems.length > 0 || activeKeyId === undefined) throw new MasterKeyConfigError(problems);
  return { activeKeyId, keys };
}
