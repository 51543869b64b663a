/**
 * SSRF guard of git sources: the control plane fetches any URL a tenant gives it, so before git runs the host is
 * resolved and every address is checked. Loopback, unspecified, link-local, cloud metadata and (by default) private
 * ranges are refused. Git is then pinned to the checked address (see git-source.ts), so a second DNS answer
 * cannot point it elsewhere (DNS rebinding).
 */
import { lookup as dnsLookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";
import { UnprocessableError } from "../../_shared/errors.js";

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

type AddressFamily = "ipv4" | "ipv6";
interface Range {
  network: string;
  prefix: number;
  family: AddressFamily;
  reason: string;
}

/** Always refused: nothing a tenant's repository legitimately lives on. */
const ALWAYS_BLOCKED: Range[] = [
  { network: "169.254.169.254", prefix: 32, family: "ipv4", reason: "cloud metadata" },
  { network: "fd00:ec2::254", prefix: 128, family: "ipv6", reason: "cloud metadata" },
  { network: "127.0.0.0", prefix: 8, family: "ipv4", reason: "loopback" },
  { network: "::1", prefix: 128, family: "ipv6", reason: "loopback" },
  { network: "0.0.0.0", prefix: 8, family: "ipv4", reason: "unspecified" },
  { network: "::", prefix: 128, family: "ipv6", reason: "unspecified" },
  { network: "169.254.0.0", prefix: 16, family: "ipv4", reason: "link-local" },
  { network: "fe80::", prefix: 10, family: "ipv6", reason: "link-local" },
  { network: "224.0.0.0", prefix: 4, family: "ipv4", reason: "multicast" },
  { network: "ff00::", prefix: 8, family: "ipv6", reason: "multicast" },
  { network: "240.0.0.0", prefix: 4, family: "ipv4", reason: "reserved" },
];

const PRIVATE: Range[] = [
  { network: "10.0.0.0", prefix: 8, family: "ipv4", reason: "private network" },
  { network: "172.16.0.0", prefix: 12, family: "ipv4", reason: "private network" },
  { network: "192.168.0.0", prefix: 16, family: "ipv4", reason: "private network" },
  { network: "100.64.0.0", prefix: 10, family: "ipv4", reason: "shared address space (CGNAT)" },
  { network: "fc00::", prefix: 7, family: "ipv6", reason: "unique local network" },
];

function blockListOf(ranges: Range[]): Array<{ list: BlockList; reason: string }> {
  return ranges.map((r) => {
    const list = new BlockList();
    list.addSubnet(r.network, r.prefix, r.family);
    return { list, reason: r.reason };
  });
}

const ALWAYS = blockListOf(ALWAYS_BLOCKED);
const PRIVATE_LISTS = blockListOf(PRIVATE);

/** Why the address is refused, or undefined. IPv4-mapped IPv6 (`::ffff:127.0.0.1`) is judged as IPv4. */
export function blockedReason(address: string, blockPrivateNetworks: boolean): string | undefined {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  const ip = mapped?.[1] ?? address;
  const family: AddressFamily = isIP(ip) === 6 ? "ipv6" : "ipv4";
  const lists = blockPrivateNetworks ? [...ALWAYS, ...PRIVATE_LISTS] : ALWAYS;
  return lists.find((l) => l.list.check(ip, family))?.reason;
}

export type Lookup = (host: string) => Promise<Array<{ address: string; family: number }>>;
const systemLookup: Lookup = (host) => dnsLookup(host, { all: true, verbatim: true });

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
