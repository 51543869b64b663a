import { expect } from "chai";
import { TrustedProxies, clientIp } from "./client-ip.js";

describe("client IP behind trusted proxies", () => {
  const proxies = new TrustedProxies(["10.0.0.0/8", "127.0.0.1/32", "fd00::/8"]);

  it("ignores X-Forwarded-For when the peer is not a trusted proxy", () => {
    expect(clientIp("203.0.113.5", "1.2.3.4", proxies)).to.equal("203.0.113.5");
    expect(clientIp("203.0.113.5", "1.2.3.4", new TrustedProxies([]))).to.equal("203.0.113.5");
  });

  it("takes the rightmost hop that is not one of our proxies, so a client-written left part cannot forge it", () => {
    // The client sent "X-Forwarded-For: 6.6.6.6"; our proxy appended the real peer 198.51.100.7.
    expect(clientIp("10.1.2.3", "6.6.6.6, 198.51.100.7", proxies)).to.equal("198.51.100.7");
    // Two proxies of ours in a row.
    expect(clientIp("127.0.0.1", "6.6.6.6, 198.51.100.7, 10.9.9.9", proxies)).to.equal("198.51.100.7");
    expect(clientIp("::ffff:127.0.0.1", "198.51.100.8", proxies)).to.equal("198.51.100.8");
    expect(clientIp("fd00::1", "2001:db8::5", proxies)).to.equal("2001:db8::5");
  });

  it("stops at a malformed hop and falls back to the last address it can vouch for", () => {
    expect(clientIp("10.1.2.3", "garbage", proxies)).to.equal("10.1.2.3");
    expect(clientIp("10.1.2.3", "1.1.1.1, not-an-ip, 10.2.2.2", proxies)).to.equal("10.2.2.2");
    expect(clientIp("10.1.2.3", undefined, proxies)).to.equal("10.1.2.3");
    expect(clientIp(undefined, "1.1.1.1", proxies)).to.equal(null);
  });

  it("refuses settings that are not CIDRs", () => {
    expect(() => new TrustedProxies(["10.0.0.0/33"])).to.throw(/not an IPv4 or IPv6 CIDR/);
    expect(() => new TrustedProxies(["proxy.internal"])).to.throw(/not an IPv4 or IPv6 CIDR/);
    expect(new TrustedProxies(["192.0.2.1"]).has("192.0.2.1")).to.equal(true);
  });
});
