/**
 * Property-based fuzzing of what parses untrusted input without the HTTP layer in front: the compose validator, the
 * overlay patch parser and merge, the env overlay, the agent protocol's decoders, the command verifier and the
 * sealed-value opener. Random and mutated inputs (fast-check, seeded); the property is always the same — it
 * returns, or it throws the module's own typed error, never anything else (a TypeError, a RangeError, a stack
 * overflow). `FUZZ_PROPERTY_RUNS` sets the cases per property (bounded here for `make test`; `make fuzz` runs more)
 * and `FUZZ_SEED` replays one run.
 */
import { expect } from "chai";
import fc from "fast-check";
import { stringify } from "yaml";
import { AppError } from "../../services/_shared/errors.js";
import { checkComposeDocument, validateCompose } from "../../services/stacks/compose-validation.js";
import { applyEnv, mergeCompose, parseComposePatch } from "../../services/stacks/overlay-merge.js";
import { AgentMessageDroppedError, decodeAgentMessage } from "../../services/clusters/agent-messages.js";
import { createCommandSigningKey, ReplayGuard, signCommand, verifyCommand } from "../../nats/protocol/envelope.js";
import { CommandRejectedError, ProtocolError } from "../../nats/protocol/errors.js";
import { EXAMPLE_IDS, EXAMPLE_MESSAGES } from "../../nats/protocol/examples.js";
import { decodeMessage, MESSAGE_SCHEMAS, type MessageType } from "../../nats/protocol/messages.js";
import { createSealKeyPair, open, seal, SealError, type SealContext } from "../../nats/protocol/sealing.js";

const RUNS = Number(process.env.FUZZ_PROPERTY_RUNS ?? 300);
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
const params = { numRuns: RUNS, ...(SEED !== undefined ? { seed: SEED } : {}) };

/** The API's own client errors: what a bad compose or overlay may produce. */
const isClientError = (err: unknown) => err instanceof AppError && [400, 413, 422].includes(Number(err.code));

function onlyTyped(run: () => unknown, typed: (err: unknown) => boolean): void {
  try {
    run();
  } catch (err) {
    if (!typed(err)) throw err;
  }
}

/** Values the compose schema meets in real files, and hostile ones. */
const scalar = fc.oneof(
  fc.string(),
  fc.fullUnicodeString({ maxLength: 40 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(
    "0",
    "-1",
    "1e309",
    "NaN",
    "${VAR}",
    "${VAR:?missing}",
    "$$",
    "\u0000",
    "../../etc/passwd",
    "a".repeat(300),
  ),
);
const value = fc.letrec((tie) => ({
  any: fc.oneof(
    { depthSize: "small" },
    scalar,
    fc.array(tie("any"), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 12 }), tie("any"), { maxKeys: 4 }),
  ),
})).any;
const SERVICE_KEYS = [
  "image",
  "command",
  "entrypoint",
  "environment",
  "env_file",
  "ports",
  "volumes",
  "secrets",
  "configs",
  "networks",
  "deploy",
  "healthcheck",
  "labels",
  "user",
  "privileged",
  "cap_add",
  "devices",
  "build",
  "restart",
  "depends_on",
  "extra_hosts",
  "logging",
  "ulimits",
  "sysctls",
  "working_dir",
  "x-custom",
];
const DEPLOY_KEYS = ["replicas", "mode", "placement", "resources", "update_config", "restart_policy", "labels"];
const service = fc.dictionary(
  fc.constantFrom(...SERVICE_KEYS),
  fc.oneof(value, fc.dictionary(fc.constantFrom(...DEPLOY_KEYS), value, { maxKeys: 4 })),
  { maxKeys: 6 },
);
const composeDocument = fc.record(
  {
    version: fc.oneof(fc.constant("3.8"), scalar),
    services: fc.oneof(fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9_-]{0,12}$/), service, { maxKeys: 3 }), value),
    networks: value,
    volumes: value,
    secrets: value,
    configs: value,
  },
  { requiredKeys: [] },
);
/** A valid file with random damage: characters inserted, removed or replaced at random places. */
const damagedText = (base: string) =>
  fc
    .array(fc.tuple(fc.nat(base.length), fc.nat(3), fc.fullUnicodeString({ maxLength: 3 })), { maxLength: 5 })
    .map((edits) => {
      let text = base;
      for (const [at, cut, insert] of edits) text = text.slice(0, at) + insert + text.slice(at + cut);
      return text;
    });
const VALID_COMPOSE =
  "services:\n  web:\n    image: nginx:1.27\n    ports: ['8080:80']\n    deploy:\n      replicas: 2\n    secrets: [db]\nsecrets:\n  db:\n    external: true\n";
const composeText = fc.oneof(
  composeDocument.map((d) => stringify(d)),
  damagedText(VALID_COMPOSE),
  fc.fullUnicodeString({ maxLength: 200 }),
  fc.constantFrom("*a", "&a [*a, *a]", "!!binary AAAA", "? [a]\n: b", "services: !!set {a, b}", "a: &x\n  b: *x\n"),
);

describe("property fuzzing of the parsers (fast-check)", function () {
  this.timeout(120_000);

  it("validateCompose returns or throws a 4xx error of its own, for random and damaged compose files", () => {
    fc.assert(
      fc.property(composeText, (text) =>
        onlyTyped(() => validateCompose(text, { maxBytes: 256 * 1024, stackName: "shop" }), isClientError),
      ),
      params,
    );
  });

  it("an overlay patch parses and merges into a valid release, or fails with a 4xx error of its own", () => {
    const base = validateCompose(VALID_COMPOSE, { maxBytes: 256 * 1024 }).document;
    fc.assert(
      fc.property(fc.oneof(composeText, damagedText("services:\n  web:\n    image: !override nginx:1.28\n")), (text) =>
        onlyTyped(() => {
          const merged = mergeCompose(base, parseComposePatch(text));
          checkComposeDocument(merged, "shop");
        }, isClientError),
      ),
      params,
    );
  });

  it("applyEnv takes any JSON as an env overlay and returns or refuses it with a 4xx error", () => {
    const base = validateCompose(VALID_COMPOSE, { maxBytes: 256 * 1024 }).document;
    fc.assert(
      fc.property(fc.oneof(value, fc.record({ variables: value, services: value }, { requiredKeys: [] })), (env) =>
        onlyTyped(() => applyEnv(base, env), isClientError),
      ),
      params,
    );
  });

  it("every protocol message decoder returns or throws ProtocolError, for random bytes and mutated examples", () => {
    const types = Object.keys(MESSAGE_SCHEMAS) as MessageType[];
    const encoder = new TextEncoder();
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 256 }),
      value.map((v) => encoder.encode(JSON.stringify(v) ?? "null")),
      fc
        .tuple(fc.constantFrom(...types), fc.string({ maxLength: 12 }), value)
        .map(([type, key, v]) => encoder.encode(JSON.stringify({ ...(EXAMPLE_MESSAGES[type] as object), [key]: v }))),
    );
    fc.assert(
      fc.property(fc.constantFrom(...types), bytes, (type, data) => {
        onlyTyped(
          () => decodeMessage(type, data),
          (err) => err instanceof ProtocolError,
        );
        onlyTyped(
          () => decodeAgentMessage(type, EXAMPLE_IDS.cluster, data, 64 * 1024),
          (err) => err instanceof AgentMessageDroppedError,
        );
      }),
      params,
    );
  });

  it("verifyCommand rejects any forged or damaged envelope with CommandRejectedError, never accepts one", () => {
    const key = createCommandSigningKey();
    const now = Date.now();
    const signed = signCommand(key.seed, {
      id: EXAMPLE_IDS.command,
      type: "ScaleService",
      orgId: EXAMPLE_IDS.org,
      clusterId: EXAMPLE_IDS.cluster,
      issuedAt: now,
      ttlMs: 30_000,
      payload: EXAMPLE_MESSAGES.ScaleService,
    });
    const fields = Object.keys(signed) as Array<keyof typeof signed>;
    const forged = fc.oneof(
      value,
      fc.tuple(fc.constantFrom(...fields), value).map(([field, v]) => ({ ...signed, [field]: v })),
      fc.tuple(fc.constantFrom(...fields)).map(([field]) => {
        const copy: Record<string, unknown> = { ...signed };
        delete copy[field];
        return copy;
      }),
    );
    fc.assert(
      fc.property(forged, (envelope) => {
        fc.pre(JSON.stringify(envelope) !== JSON.stringify(signed));
        let accepted = false;
        onlyTyped(
          () => {
            verifyCommand(envelope, {
              publicKey: key.publicKey,
              clusterId: EXAMPLE_IDS.cluster,
              now,
              replayGuard: new ReplayGuard(),
            });
            accepted = true;
          },
          (err) => err instanceof CommandRejectedError,
        );
        expect(accepted, `accepted a changed envelope: ${JSON.stringify(envelope)}`).to.equal(false);
      }),
      params,
    );
  });

  it("open() refuses any damaged sealed value with SealError, never returns other plaintext", () => {
    const keys = createSealKeyPair();
    const ctx: SealContext = {
      clusterId: EXAMPLE_IDS.cluster,
      deploymentId: EXAMPLE_IDS.deployment,
      kind: "secret",
      name: "db",
    };
    const sealed = seal("s3cret", keys.publicKey, ctx);
    const b64url = fc.stringMatching(/^[A-Za-z0-9_-]{0,64}$/);
    const damaged = fc.oneof(
      fc.record({ epk: b64url }).map((d) => ({ ...sealed, ...d })),
      fc.record({ iv: fc.stringMatching(/^[A-Za-z0-9_-]{16}$/) }).map((d) => ({ ...sealed, ...d })),
      fc.record({ ct: b64url }).map((d) => ({ ...sealed, ...d })),
      fc.record({ kid: fc.stringMatching(/^[0-9a-f]{16}$/) }).map((d) => ({ ...sealed, ...d })),
    );
    fc.assert(
      fc.property(damaged, fc.constantFrom("db", "other"), (value, name) => {
        fc.pre(JSON.stringify(value) !== JSON.stringify(sealed) || name !== "db");
        let opened: Buffer | undefined;
        onlyTyped(
          () => (opened = open(value, keys, { ...ctx, name })),
          (err) => err instanceof SealError,
        );
        expect(opened, "a damaged or misdirected sealed value opened").to.equal(undefined);
      }),
      params,
    );
  });
});
