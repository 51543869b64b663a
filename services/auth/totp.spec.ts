import { expect } from "chai";
import { base32Decode, base32Encode, hotp, matchTotp, otpauthUri, totp, totpStep } from "./totp.js";

// RFC 6238 Appendix B: the seeds are ASCII digits, 20/32/64 bytes for SHA-1/256/512; 8-digit codes.
const SEEDS = {
  sha1: Buffer.from("12345678901234567890"),
  sha256: Buffer.from("12345678901234567890123456789012"),
  sha512: Buffer.from("1234567890123456789012345678901234567890123456789012345678901234"),
};
const RFC6238_VECTORS: Array<[number, string, string, string]> = [
  [59, "94287082", "46119246", "90693936"],
  [1111111109, "07081804", "68084774", "25091201"],
  [1111111111, "14050471", "67062674", "99943326"],
  [1234567890, "89005924", "91819424", "93441116"],
  [2000000000, "69279037", "90698825", "38618901"],
  [20000000000, "65353130", "77737706", "47863826"],
];

describe("TOTP (RFC 6238)", () => {
  for (const [seconds, sha1, sha256, sha512] of RFC6238_VECTORS) {
    it(`matches the RFC 6238 appendix B codes at T=${seconds}`, () => {
      expect(totp(SEEDS.sha1, seconds * 1000, 8, "sha1")).to.equal(sha1);
      expect(totp(SEEDS.sha256, seconds * 1000, 8, "sha256")).to.equal(sha256);
      expect(totp(SEEDS.sha512, seconds * 1000, 8, "sha512")).to.equal(sha512);
    });
  }

  it("matches the RFC 4226 appendix D HOTP values (6 digits)", () => {
    const expected = [
      "755224",
      "287082",
      "359152",
      "969429",
      "338314",
      "254676",
      "287922",
      "162583",
      "399871",
      "520489",
    ];
    expect(expected.map((_, counter) => hotp(SEEDS.sha1, counter))).to.deep.equal(expected);
  });

  it("accepts a code one step either side and returns its step, nothing further", () => {
    const now = 1_700_000_000_000;
    const step = totpStep(now);
    expect(matchTotp(SEEDS.sha1, totp(SEEDS.sha1, now), now)).to.equal(step);
    expect(matchTotp(SEEDS.sha1, totp(SEEDS.sha1, now - 30_000), now)).to.equal(step - 1);
    expect(matchTotp(SEEDS.sha1, totp(SEEDS.sha1, now + 30_000), now)).to.equal(step + 1);
    const farPast = totp(SEEDS.sha1, now - 60_000);
    const farFuture = totp(SEEDS.sha1, now + 60_000);
    const near = [-1, 0, 1].map((d) => totp(SEEDS.sha1, now + d * 30_000));
    if (!near.includes(farPast)) expect(matchTotp(SEEDS.sha1, farPast, now)).to.equal(null);
    if (!near.includes(farFuture)) expect(matchTotp(SEEDS.sha1, farFuture, now)).to.equal(null);
    expect(matchTotp(SEEDS.sha1, "12345", now)).to.equal(null);
    expect(matchTotp(SEEDS.sha1, "abcdef", now)).to.equal(null);
  });

  it("round-trips base32 (RFC 4648 vectors) and writes the otpauth URI", () => {
    expect(base32Encode(Buffer.from("foobar"))).to.equal("MZXW6YTBOI");
    expect(base32Encode(Buffer.from("f"))).to.equal("MY");
    expect(base32Decode("mzxw 6ytb oi").toString()).to.equal("foobar");
    expect(base32Decode(base32Encode(SEEDS.sha1)).equals(SEEDS.sha1)).to.equal(true);
    const uri = new URL(otpauthUri(SEEDS.sha1, "Stackyard", "ann@example.test"));
    expect(uri.protocol).to.equal("otpauth:");
    expect(uri.host).to.equal("totp");
    expect(decodeURIComponent(uri.pathname)).to.equal("/Stackyard:ann@example.test");
    expect(uri.searchParams.get("secret")).to.equal("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    expect(uri.searchParams.get("digits")).to.equal("6");
    expect(uri.searchParams.get("period")).to.equal("30");
  });
});
