/**
 * The address ranges the control plane never connects to on a tenant's behalf (SSRF): loopback, unspecified,
 * link-local, cloud metadata, multicast and reserved always; private ranges when the caller's policy says so. Used
 * by the git source guard (stacks/git-credentials/host-guard.ts) and the notification sender.
 */
import { lookup as dnsLookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";

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
export const systemLookup: Lookup = (host) => dnsLookup(host, { all: true, verbatim: true });
