import { expect } from "chai";
import {
  decryptSecret,
  encryptSecret,
  MasterKeyConfigError,
  parseMasterKeys,
  SecretDecryptionError,
  UnknownMasterKeyError,
  type SecretIdentity,
} from "./secrets-crypto.js";
import { testMasterKeySpec } from "./test-fixtures.js";

const identity: SecretIdentity = {
  orgId: "8d7c3f5e-0000-4000-8000-000000000001",
  environmentId: "8d7c3f5e-0000-4000-8000-000000000002",
  name: "db_password",
  version: 3,
};
const plaintext = "correct horse battery staple";

describe("parseMasterKeys", () => {
  it("takes the first key as the active one and keeps all for decryption", () => {
    const keys = parseMasterKeys(` ${testMasterKeySpec("k2", "k1")} `);
    expect(keys.activeKeyId).to.equal("k2");
    expect([...keys.keys.keys()]).to.deep.equal(["k2", "k1"]);
    expect(keys.keys.get("k1")).to.have.length(32);
  });

  const invalid: Array<[string, string, RegExp]> = [
    ["an empty spec", "", /no key given/],
    ["an entry without id", "AAAA", /entry 1 is not of the form/],
    ["a bad key id", `bad id:${Buffer.alloc(32).toString("base64")}`, /entry 1: key id/],
    ["a short key", `k1:${Buffer.alloc(16).toString("base64")}`, /key "k1" is 16 bytes; AES-256 needs 32/],
    ["a long key", `k1:${Buffer.alloc(33).toString("base64")}`, /key "k1" is 33 bytes/],
    ["invalid base64", "k1:not*base64!", /key "k1" is not valid base64/],
    ["a duplicate id", `${testMasterKeySpec("k1")},${testMasterKeySpec("k1")}`, /key id "k1" appears twice/],
  ];
  for (const [name, spec, message] of invalid) {
    it(`rejects ${name}`, () => {
      expect(() => parseMasterKeys(spec))
        .to.throw(MasterKeyConfigError)
        .with.property("message")
        .that.matches(message);
    });
  }

  it("reports every problem at once and never echoes key material", () => {
    const material = Buffer.alloc(16, 7).toString("base64");
    try {
      parseMasterKeys(`k1:${material},k2:%%%`);
      expect.fail("expected an error");
    } catch (err) {
      expect(err).to.be.instanceOf(MasterKeyConfigError);
      expect((err as MasterKeyConfigError).problems).to.have.length(2);
      expect((err as Error).message).not.to.include(material);
    }
  });
});

describe("encryptSecret / decryptSecret", () => {
  const keys = parseMasterKeys(testMasterKeySpec("k1"));

  it("round-trips, with a ciphertext that does not contain the plaintext", () => {
    const record = encryptSecret(keys, plaintext, identity);
    expect(record.keyId).to.equal("k1");
    expect(record.nonce).to.have.length(12);
    expect(record.authTag).to.have.length(16);
    expect(record.ciphertext.equals(Buffer.from(plaintext))).to.equal(false);
    expect(record.ciphertext.includes(Buffer.from(plaintext))).to.equal(false);
    expect(record.ciphertext.toString("latin1")).not.to.include("horse");
    expect(decryptSecret(keys, record, identity).toString()).to.equal(plaintext);
  });

  it("uses a fresh nonce for every write", () => {
    const a = encryptSecret(keys, plaintext, identity);
    const b = encryptSecret(keys, plaintext, identity);
    expect(a.nonce.equals(b.nonce)).to.equal(false);
    expect(a.ciphertext.equals(b.ciphertext)).to.equal(false);
  });

  const tamper: Array<[string, (r: ReturnType<typeof encryptSecret>) => void]> = [
    ["a flipped ciphertext bit", (r) => void (r.ciphertext[0] = (r.ciphertext[0] ?? 0) ^ 1)],
    ["a flipped tag bit", (r) => void (r.authTag[0] = (r.authTag[0] ?? 0) ^ 1)],
    ["another nonce", (r) => void (r.nonce[0] = (r.nonce[0] ?? 0) ^ 1)],
  ];
  for (const [name, mutate] of tamper) {
    it(`detects ${name}`, () => {
      const record = encryptSecret(keys, plaintext, identity);
      mutate(record);
      expect(() => decryptSecret(keys, record, identity)).to.throw(SecretDecryptionError);
    });
  }

  const moved: Array<[string, Partial<SecretIdentity>]> = [
    ["another org", { orgId: "8d7c3f5e-0000-4000-8000-0000000000ff" }],
    ["another environment", { environmentId: "8d7c3f5e-0000-4000-8000-0000000000ff" }],
    ["another name", { name: "api_key" }],
    ["another version (a replayed old value)", { version: 2 }],
  ];
  for (const [name, change] of moved) {
    it(`refuses a value moved to ${name}`, () => {
      const record = encryptSecret(keys, plaintext, identity);
      expect(() => decryptSecret(keys, record, { ...identity, ...change })).to.throw(SecretDecryptionError);
    });
  }

  it("fails with a wrong key of the same id, and with an unknown key id", () => {
    const record = encryptSecret(keys, plaintext, identity);
    const impostor = parseMasterKeys(testMasterKeySpec("k1"));
    expect(() => decryptSecret(impostor, record, identity)).to.throw(SecretDecryptionError, /"k1"/);
    expect(() => decryptSecret(parseMasterKeys(testMasterKeySpec("k9")), record, identity)).to.throw(
      UnknownMasterKeyError,
    );
  });
});
