import { expect } from "chai";
import { createUser } from "nkeys.js";
import { CommandRejectedError, ProtocolError, type CommandRejectionCode } from "./errors.js";
import { EXAMPLE_IDS, EXAMPLE_MESSAGES } from "./examples.js";
import {
  MAX_CLOCK_SKEW_MS,
  MAX_COMMAND_TTL_MS,
  ReplayGuard,
  assertCommandSigningPublicKey,
  canonicalJson,
  commandSigningPublicKey,
  createCommandSigningKey,
  signCommand,
  signEnvelope,
  signRenewRequest,
  verifyCommand,
  verifyRenewRequest,
  type VerifyRenewOptions,
} from "./envelope.js";
import type { CommandEnvelope } from "./messages.js";

const NOW = 1_700_000_000_000;
const CLUSTER = EXAMPLE_IDS.cluster;
const cp = createCommandSigningKey();

const command = (overrides: { issuedAt?: number; ttlMs?: number; clusterId?: string; id?: string } = {}) =>
  signCommand(cp.seed, {
    type: "ScaleService",
    orgId: EXAMPLE_IDS.org,
    clusterId: overrides.clusterId ?? CLUSTER,
    payload: { stackName: "web", service: "app", replicas: 2 },
    issuedAt: overrides.issuedAt ?? NOW,
    ...(overrides.ttlMs !== undefined ? { ttlMs: overrides.ttlMs } : {}),
    ...(overrides.id !== undefined ? { id: overrides.id } : {}),
  });

function rejectionCode(envelope: unknown, opts: { now?: number; guard?: ReplayGuard; publicKey?: string } = {}) {
  try {
    verifyCommand(envelope, {
      publicKey: opts.publicKey ?? cp.publicKey,
      clusterId: CLUSTER,
      now: opts.now ?? NOW + 1_000,
      replayGuard: opts.guard ?? new ReplayGuard(),
    });
  } catch (err) {
    expect(err).to.be.instanceOf(CommandRejectedError);
    return (err as CommandRejectedError).code;
  }
  return "ACCEPTED";
}

describe("signed command envelopes", () => {
  it("serialises canonically regardless of key order, dropping undefined", () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: null }], c: "é" }, u: undefined })).to.equal(
      '{"a":{"c":"é","d":[1,{"x":null,"y":2}]},"b":1}',
    );
  });

  it("creates an account-type signing key and derives its public key from the seed", () => {
    expect(cp.seed).to.match(/^SA/);
    expect(cp.publicKey).to.match(/^A[A-Z2-7]{55}$/);
    expect(commandSigningPublicKey(cp.seed)).to.equal(cp.publicKey);
    expect(assertCommandSigningPublicKey(cp.publicKey)).to.equal(cp.publicKey);
    expect(() => assertCommandSigningPublicKey(createUser().getPublicKey())).to.throw(ProtocolError, /starting with A/);
  });

  it("accepts a fresh command signed by the control plane, for this cluster", () => {
    const envelope = command();
    const wire = JSON.parse(JSON.stringify(envelope)) as unknown;
    const verified = verifyCommand(wire, {
      publicKey: cp.publicKey,
      clusterId: CLUSTER,
      now: NOW + 1,
      replayGuard: new ReplayGuard(),
    });
    expect(verified).to.deep.equal(envelope);
    expect(verified.expiresAt - verified.issuedAt).to.equal(120_000);
  });

  it("verifies whatever the key order on the wire", () => {
    const envelope = command();
    const reordered = Object.fromEntries(Object.entries(envelope).reverse());
    (reordered as { payload: unknown }).payload = { replicas: 2, service: "app", stackName: "web" };
    expect(rejectionCode(reordered)).to.equal("ACCEPTED");
  });

  const tampered: Array<[string, (e: CommandEnvelope) => void]> = [
    ["payload", (e) => (e.payload = { stackName: "web", service: "app", replicas: 200 })],
    ["type", (e) => (e.type = "GetStatus")],
    ["orgId", (e) => (e.orgId = "other-org")],
    ["expiresAt", (e) => (e.expiresAt += 60_000)],
    ["id", (e) => (e.id = "00000000-0000-4000-8000-000000000000")],
  ];
  for (const [field, tamper] of tampered) {
    it(`rejects a command whose ${field} was changed after signing: BAD_SIGNATURE`, () => {
      const envelope = command();
      tamper(envelope);
      expect(rejectionCode(envelope)).to.equal("BAD_SIGNATURE");
    });
  }

  it("rejects a command signed by another key: BAD_SIGNATURE", () => {
    const forger = createCommandSigningKey();
    const forged = signCommand(forger.seed, {
      type: "GetStatus",
      orgId: EXAMPLE_IDS.org,
      clusterId: CLUSTER,
      payload: { stackName: "web" },
      issuedAt: NOW,
    });
    expect(rejectionCode(forged)).to.equal("BAD_SIGNATURE");
  });

  it("checks the signature before the cluster, so an unsigned command learns nothing", () => {
    const envelope = command({ clusterId: "other-cluster" });
    envelope.sig = command().sig;
    expect(rejectionCode(envelope)).to.equal("BAD_SIGNATURE");
  });

  it("rejects a correctly signed command for another cluster: WRONG_CLUSTER", () => {
    expect(rejectionCode(command({ clusterId: "other-cluster" }))).to.equal("WRONG_CLUSTER");
  });

  it("rejects an expired command, tolerating the allowed clock skew: EXPIRED", () => {
    const envelope = command({ ttlMs: 60_000 });
    expect(rejectionCode(envelope, { now: NOW + 60_000 + MAX_CLOCK_SKEW_MS })).to.equal("ACCEPTED");
    expect(rejectionCode(envelope, { now: NOW + 60_000 + MAX_CLOCK_SKEW_MS + 1 })).to.equal("EXPIRED");
  });

  it("rejects a command issued in the future beyond the skew: EXPIRED", () => {
    expect(rejectionCode(command({ issuedAt: NOW + 1_000 + MAX_CLOCK_SKEW_MS + 1 }))).to.equal("EXPIRED");
    expect(rejectionCode(command({ issuedAt: NOW + 1_000 + MAX_CLOCK_SKEW_MS }))).to.equal("ACCEPTED");
  });

  it("rejects a signed envelope whose lifetime exceeds the maximum: MALFORMED_MESSAGE", () => {
    const { sig: _sig, ...fields } = command();
    const longLived = signEnvelope(cp.seed, { ...fields, expiresAt: fields.issuedAt + MAX_COMMAND_TTL_MS + 1 });
    expect(rejectionCode(longLived)).to.equal("MALFORMED_MESSAGE");
    const backwards = signEnvelope(cp.seed, { ...fields, expiresAt: fields.issuedAt });
    expect(rejectionCode(backwards)).to.equal("MALFORMED_MESSAGE");
  });

  it("refuses to sign a command with a too long lifetime or a malformed payload", () => {
    expect(() => command({ ttlMs: MAX_COMMAND_TTL_MS + 1 })).to.throw(ProtocolError, /ttlMs/);
    expect(() =>
      signCommand(cp.seed, {
        type: "ScaleService",
        orgId: EXAMPLE_IDS.org,
        clusterId: CLUSTER,
        payload: { stackName: "web", service: "app", replicas: -1 },
      }),
    ).to.throw(ProtocolError, /replicas/);
  });

  it("rejects a replayed command id: REPLAYED", () => {
    const guard = new ReplayGuard();
    const envelope = command();
    expect(rejectionCode(envelope, { guard })).to.equal("ACCEPTED");
    expect(rejectionCode(JSON.parse(JSON.stringify(envelope)), { guard })).to.equal("REPLAYED");
  });

  it("does not remember rejected commands, so they cannot block a later valid one", () => {
    const guard = new ReplayGuard();
    const envelope = command();
    expect(
      rejectionCode({ ...envelope, sig: command({ id: "00000000-0000-4000-8000-000000000000" }).sig }, { guard }),
    ).to.equal("BAD_SIGNATURE");
    expect(guard.size).to.equal(0);
    expect(rejectionCode(envelope, { guard })).to.equal("ACCEPTED");
  });

  const malformed: Array<[string, unknown]> = [
    ["null", null],
    ["a string", "cmd"],
    ["no signature", (({ sig: _s, ...rest }) => rest)(EXAMPLE_MESSAGES.CommandEnvelope)],
    ["an unknown type", { ...EXAMPLE_MESSAGES.CommandEnvelope, type: "Exec" }],
  ];
  for (const [what, value] of malformed) {
    it(`rejects ${what}: MALFORMED_MESSAGE`, () => {
      expect(rejectionCode(value)).to.equal("MALFORMED_MESSAGE" satisfies CommandRejectionCode);
    });
  }
});

describe("ReplayGuard", () => {
  it("forgets ids once expired", () => {
    const guard = new ReplayGuard({ sweepIntervalMs: 1_000 });
    guard.remember("a", NOW + 500, NOW);
    expect(() => guard.remember("a", NOW + 500, NOW + 500)).to.throw(CommandRejectedError, /REPLAYED/);
    guard.remember("b", NOW + 5_000, NOW + 1_000);
    expect(guard.size).to.equal(1);
  });

  it("sweeps expired ids when full, and refuses new ones while every id is unexpired", () => {
    const guard = new ReplayGuard({ maxEntries: 3, sweepIntervalMs: 3_600_000 });
    guard.remember("a", NOW + 10, NOW);
    guard.remember("b", NOW + 10_000, NOW);
    guard.remember("c", NOW + 10_000, NOW);
    guard.remember("d", NOW + 10_000, NOW + 20);
    expect(guard.size).to.equal(3);
    let err: unknown;
    try {
      guard.remember("e", NOW + 10_000, NOW + 30);
    } catch (e) {
      err = e;
    }
    expect((err as CommandRejectedError).code).to.equal("REPLAY_GUARD_FULL");
    expect(guard.size).to.equal(3);
    expect(() => guard.remember("b", NOW + 10_000, NOW + 40)).to.throw(CommandRejectedError, /REPLAYED/);
    guard.remember("e", NOW + 20_000, NOW + 10_001);
    expect(guard.size).to.equal(1);
  });

  it("stays bounded under a flood of distinct ids", () => {
    const guard = new ReplayGuard({ maxEntries: 1_000, sweepIntervalMs: 100 });
    for (let i = 0; i < 50_000; i++) guard.remember(`id-${i}`, NOW + i + 50, NOW + i);
    expect(guard.size).to.be.at.most(1_000);
  });
});

describe("signed renewal requests", () => {
  const agent = createUser();
  const seed = new TextDecoder().decode(agent.getSeed());
  const opts: VerifyRenewOptions = { registeredPublicKey: agent.getPublicKey(), clusterId: CLUSTER, now: NOW + 1_000 };

  const code = (request: unknown, o: Partial<typeof opts> = {}): string => {
    try {
      verifyRenewRequest(request, { ...opts, ...o });
      return "ACCEPTED";
    } catch (err) {
      return (err as CommandRejectedError).code;
    }
  };

  it("accepts a fresh request signed by the registered agent key", () => {
    const request = signRenewRequest(seed, { clusterId: CLUSTER, requestedAt: NOW });
    expect(request.publicKey).to.equal(agent.getPublicKey());
    expect(code(JSON.parse(JSON.stringify(request)))).to.equal("ACCEPTED");
  });

  it("rejects another key, a tampered or stale request, another cluster and garbage", () => {
    const request = signRenewRequest(seed, { clusterId: CLUSTER, requestedAt: NOW });
    const other = new TextDecoder().decode(createUser().getSeed());
    expect(code(signRenewRequest(other, { clusterId: CLUSTER, requestedAt: NOW }))).to.equal("BAD_SIGNATURE");
    expect(code({ ...request, requestedAt: NOW + 1 })).to.equal("BAD_SIGNATURE");
    expect(code(request, { clusterId: "other-cluster" })).to.equal("WRONG_CLUSTER");
    expect(code(request, { now: NOW + 6 * 60_000 })).to.equal("EXPIRED");
    expect(code({ hello: "world" })).to.equal("MALFORMED_MESSAGE");
  });

  it("refuses to sign with anything but a user seed", () => {
    expect(() => signRenewRequest(cp.seed, { clusterId: CLUSTER, requestedAt: NOW })).to.throw(ProtocolError, /SU/);
  });
});
