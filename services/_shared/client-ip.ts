/**
 * The client address of a request behind proxies you run. `X-Forwarded-For` is appended to by each hop, so only
 * its right end is written by your own proxies; everything to the left of them is whatever the client sent.
 * Walk from the connection's peer leftwards while the hop is a trusted proxy: the first untrusted hop is the client.
 */
import { BlockList, isIP } from "node:net";

export class TrustedProxies {
  private readonly list = new BlockList();
  readonly empty: boolean;

  /** `cidrs`: e.g. ["10.0.0.0/8", "127.0.0.1/32", "fd00::/8"]; throws on anything else. */
  constructor(cidrs: readonly string[]) {
    for (const cidr of cidrs) {
      const [address, bits, extra] = cidr.split("/");
      const family = isIP(address ?? "");
      const prefix = Number(bits ?? (family === 6 ? 128 : 32));
      if (
        !family ||
        extra !== undefined ||
        !Number.isInteger(prefix) ||
        prefix < 0 ||
        prefix > (family === 6 ? 128 : 32)
      ) {
        throw new Error(`"${cidr}" is not an IPv4 or IPv6 CIDR (e.g. 10.0.0.0/8)`);
      }
      this.list.addSubnet(address!, prefix, family === 6 ? "ipv6" : "ipv4");
    }
    this.empty = cidrs.length === 0;
  }

  has(address: string): boolean {
    const plain = unmapped(address);
    const family = isIP(plain);
    return family !== 0 && this.list.check(plain, family === 6 ? "ipv6" : "ipv4");
  }
}

/** `::ffff:10.1.2.3` (an IPv4 peer on a dual-stack socket) is 10.1.2.3. */
const unmapped = (address: string): string =>
  address.startsWith("::ffff:") && isIP(address.slice(7)) === 4 ? address.slice(7) : address;

export function clientIp(
  peer: string | undefined,
  forwardedFor: string | undefined,
  trusted: TrustedProxies,
): string | null {
  if (!peer) return null;
  if (trusted.empty || !trusted.has(peer)) return unmapped(peer);
  const hops = (forwardedFor ?? "")
    .split(",")
    .map((h) => h.trim())
    .filter(Boolean);
  let client = unmapped(peer);
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    // A malformed entry cannot be a proxy of ours: whoever wrote it is the last address we can vouch for.
    if (isIP(unmapped(hop)) === 0) break;
    client = unmapped(hop);
    if (!trusted.has(hop)) break;
  }
  return client;
}
