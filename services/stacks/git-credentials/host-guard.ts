/**
 * SSRF guard of git sources: the control plane fetches any URL a tenant gives it, so before git runs the host is
 * resolved and every address is checked. Loopback, unspecified, link-local, cloud metadata and (by default) private
 * ranges are refused. Git is then pinned to the checked address (see git-source.ts), so a second DNS answer
 * cannot point it elsewhere (DNS rebinding).
 */
import { isIP } from "node:net";
import { UnprocessableError } from "../../_shared/errors.js";
import { blockedReason, systemLookup, type Lookup } from "../../_shared/outbound-guard.js";

export { blockedReason, type Lookup };

export interface GitHostPolicy {
  /** Refuse RFC 1918, CGNAT and unique-local addresses too (GIT_BLOCK_PRIVATE_NETWORKS, default on). */
  blockPrivateNetworks: boolean;
  /**
   * TEST ONLY (STACKYARD_TEST_GIT_ALLOW_HOSTS): exact `host:port` pairs let through whatever they resolve to, so
   * a suite can reach its own loopback SSH server. Never set in production.
   */
  testAllowedHosts: ReadonlySet<string>;
}

export const DEFAULT_GIT_HOST_POLICY: GitHostPolicy = { blockPrivateNetworks: true, testAllowedHosts: new Set() };

export type GitHostErrorCode = "GIT_HOST_FORBIDDEN" | "GIT_HOST_UNRESOLVABLE";

export class GitHostError extends UnprocessableError {
  constructor(code: GitHostErrorCode, message: string, details: Record<string, unknown>) {
    super(code, message, details);
  }
}

/**
 * Resolves `host` and returns the address git must connect to. Every address of the answer must pass: a host
 * answering both a public and a loopback address is refused.
 */
export async function checkGitHost(
  host: string,
  port: number,
  policy: GitHostPolicy,
  lookup: Lookup = systemLookup,
): Promise<string> {
  const bare = host.replace(/^\[(.*)\]$/, "$1");
  let addresses: string[];
  if (isIP(bare) !== 0) {
    addresses = [bare];
  } else {
    try {
      addresses = (await lookup(bare)).map((a) => a.address);
    } catch {
      addresses = [];
    }
    if (addresses.length === 0) {
      throw new GitHostError("GIT_HOST_UNRESOLVABLE", `the git host "${bare}" does not resolve`, { host: bare });
    }
  }
  const first = addresses[0] as string;
  if (policy.testAllowedHosts.has(`${bare.toLowerCase()}:${port}`)) return first;
  for (const address of addresses) {
    const reason = blockedReason(address, policy.blockPrivateNetworks);
    if (reason !== undefined) {
      throw new GitHostError(
        "GIT_HOST_FORBIDDEN",
        `the git host "${bare}" resolves to ${address} (${reason}); the control plane does not fetch from there`,
        { host: bare, address, reason },
      );
    }
  }
  return first;
}
