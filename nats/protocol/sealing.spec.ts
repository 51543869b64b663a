import { expect } from "chai";
import { Ajv } from "ajv";
import {
  SealError,
  assertSealKeyPair,
  createSealKeyPair,
  isSealPublicKey,
  open,
  seal,
  sealKeyId,
  type SealContext,
  type SealedValue,
} from "./sealing.js";
import { sealedValue } from "./schema.js";

const ctx: SealContext = { clusterId: "c1", deploymentId: "d1", kind: "secret", name: "web-prod_db_password_0a1b" };
const VALUE = "correct horse battery staple – ünïcødé \u0000 bytes";

function flip(sealed: SealedValue, field: "ct" | "iv" | "epk", at = 0): SealedValue {
  const buf = Buffer.from(sealed[field], "base64url");
  buf[at] = buf[at]! ^ 0x01;
  return { ...sealed, [field]: buf.toString("base64url") };
}

function expectSealError(fn: () => unknown, code: SealError["code"], message?: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, "throws").to.be.instanceOf(SealError);
  expect((caught as SealError).code).to.equal(code);
  if (message) expect((caught as SealError).message).to.match(message);
}

describe("sealing values to the agent (X25519 + HKDF-SHA256 + AES-256-GCM)", () => {
  const keys = createSealKeyPair();

  it("makes raw base64url X25519 keys and a stable 16-hex key id", () => {
    expect(isSealPublicKey(keys.publicKey)).to.equal(true);
    expect(keys.privateKey).to.match(/^[A-Za-z0-9_-]{43}$/);
    expect(keys.privateKey).to.not.equal(keys.publicKey);
    expect(sealKeyId(keys.publicKey))
      .to.match(/^[0-9a-f]{16}$/)
      .and.equal(sealKeyId(keys.publicKey));
    expect(sealKeyId(createSealKeyPair().publicKey)).to.not.equal(sealKeyId(keys.publicKey));
    assertSealKeyPair(keys);
  });

  it("round-trips strings and bytes; the sealed form matches the wire schema and hides the value", () => {
    const sealed = seal(VALUE, keys.publicKey, ctx);
    expect(open(sealed, keys, ctx).toString("utf8")).to.equal(VALUE);
    const bytes = Buffer.from([0, 1, 2, 255]);
    expect(open(seal(bytes, keys.publicKey, ctx), keys, ctx).equals(bytes)).to.equal(true);
    expect(open(seal("", keys.publicKey, ctx), keys, ctx).length).to.equal(0);
    const validate = new Ajv({ strict: true }).compile(sealedValue);
    expect(validate(sealed), JSON.stringify(validate.errors)).to.equal(true);
    expect(sealed.kid).to.equal(sealKeyId(keys.publicKey));
    const wire = JSON.stringify(sealed);
    expect(wire).to.not.include("horse");
    expect(wire).to.not.include(Buffer.from(VALUE).toString("base64url").slice(0, 12));
  });

  it("uses a fresh ephemeral key and nonce every time", () => {
    const a = seal(VALUE, keys.publicKey, ctx);
    const b = seal(VALUE, keys.publicKey, ctx);
    expect(a.epk).to.not.equal(b.epk);
    expect(a.iv).to.not.equal(b.iv);
    expect(a.ct).to.not.equal(b.ct);
  });

  it("a changed ciphertext, tag, nonce or ephemeral key does not open: SEAL_INVALID", () => {
    const sealed = seal(VALUE, keys.publicKey, ctx);
    const tagAt = Buffer.from(sealed.ct, "base64url").length - 1;
    for (const bad of [flip(sealed, "ct"), flip(sealed, "ct", tagAt), flip(sealed, "iv"), flip(sealed, "epk", 5)]) {
      expectSealError(() => open(bad, keys, ctx), "SEAL_INVALID");
    }
    const truncated = { ...sealed, ct: sealed.ct.slice(0, 10) };
    expectSealError(() => open(truncated, keys, ctx), "SEAL_INVALID");
    expectSealError(() => open({ ...sealed, iv: "not base64url!!!" }, keys, ctx), "SEAL_INVALID");
  });

  it("is bound to its context: another cluster, deployment, kind or name does not open", () => {
    const sealed = seal(VALUE, keys.publicKey, ctx);
    for (const other of [
      { ...ctx, clusterId: "c2" },
      { ...ctx, deploymentId: "d2" },
      { ...ctx, kind: "registry" as const },
      { ...ctx, name: "web-prod_api_key_0a1b" },
    ]) {
      expectSealError(() => open(sealed, keys, other), "SEAL_INVALID", /does not open/);
    }
  });

  it("a value sealed to another key is refused by key id (SEAL_WRONG_KEY); a forged kid still does not open", () => {
    const other = createSealKeyPair();
    const sealed = seal(VALUE, other.publicKey, ctx);
    expectSealError(() => open(sealed, keys, ctx), "SEAL_WRONG_KEY", new RegExp(sealKeyId(other.publicKey)));
    expectSealError(() => open({ ...sealed, kid: sealKeyId(keys.publicKey) }, keys, ctx), "SEAL_INVALID");
  });

  it("refuses malformed keys and mismatched key pairs with SEAL_KEY_INVALID", () => {
    expectSealError(() => seal(VALUE, "short", ctx), "SEAL_KEY_INVALID");
    const other = createSealKeyPair();
    expectSealError(
      () => assertSealKeyPair({ publicKey: keys.publicKey, privateKey: other.privateKey }),
      "SEAL_KEY_INVALID",
    );
    expectSealError(
      () => open(seal(VALUE, keys.publicKey, ctx), { publicKey: keys.publicKey, privateKey: other.privateKey }, ctx),
      "SEAL_KEY_INVALID",
    );
  });

  it("error messages carry neither the value nor key material", () => {
    const sealed = seal(VALUE, keys.publicKey, ctx);
    try {
      open(flip(sealed, "ct"), keys, ctx);
    } catch (err) {
      const message = (err as Error).message;
      expect(message).to.not.include("horse");
      expect(message).to.not.include(keys.privateKey);
    }
  });
});
