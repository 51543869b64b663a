import { expect } from "chai";
import { ProtocolError } from "./errors.js";
import { EXAMPLE_MESSAGES } from "./examples.js";
import {
  MESSAGE_SCHEMAS,
  decodeCommandReply,
  decodeDeploymentEvents,
  decodeMessage,
  encodeMessage,
  validateCommandPayload,
  validateCommandResult,
  validateMessage,
  type MessageType,
} from "./messages.js";

const MESSAGE_TYPES = Object.keys(MESSAGE_SCHEMAS) as MessageType[];
const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

function rejection(type: MessageType, value: unknown): ProtocolError {
  try {
    validateMessage(type, value);
  } catch (err) {
    expect(err).to.be.instanceOf(ProtocolError);
    return err as ProtocolError;
  }
  throw new Error(`${type} accepted ${JSON.stringify(value).slice(0, 200)}`);
}

/** [type, what is wrong, change applied to a copy of the valid example, expected words in the reason] */
const INVALID: Array<[MessageType, string, (m: Record<string, unknown>) => void, RegExp]> = [
  ["Heartbeat", "negative uptime", (m) => (m.uptimeSeconds = -1), /uptimeSeconds/],
  ["Heartbeat", "cluster id with a dot", (m) => (m.clusterId = "a.b"), /clusterId/],
  ["Heartbeat", "unknown swarm state", (m) => ((m.docker as Record<string, unknown>).swarmState = "on"), /swarmState/],
  ["Heartbeat", "hash of the wrong length", (m) => (m.inventoryHash = "abc"), /inventoryHash/],
  ["Inventory", "node role unknown", (m) => ((m.nodes as Array<Record<string, unknown>>)[0]!.role = "boss"), /role/],
  [
    "Inventory",
    "non-string label",
    (m) => ((m.nodes as Array<Record<string, unknown>>)[0]!.labels = { a: 1 }),
    /labels/,
  ],
  [
    "Inventory",
    "fractional replicas",
    (m) => ((m.services as Array<Record<string, unknown>>)[0]!.desiredReplicas = 1.5),
    /desiredReplicas/,
  ],
  [
    "Inventory",
    "service mode unknown",
    (m) => ((m.services as Array<Record<string, unknown>>)[0]!.mode = "job"),
    /mode/,
  ],
  ["DeploymentEvent", "unknown level", (m) => (m.level = "fatal"), /level/],
  ["DeploymentEvent", "data is an array", (m) => (m.data = []), /data/],
  ["DeploymentEvent", "unknown outcome", (m) => (m.outcome = "done"), /outcome/],
  ["DeploymentEventBatch", "no events", (m) => (m.events = []), /events/],
  [
    "DeploymentEventBatch",
    "an event with an unknown level",
    (m) => ((m.events as Array<Record<string, unknown>>)[1]!.level = "fatal"),
    /level/,
  ],
  [
    "DeploymentEventBatch",
    "too many events",
    (m) => (m.events = Array.from({ length: 501 }, () => (m.events as unknown[])[0])),
    /events/,
  ],
  ["DockerEvent", "container events are not forwarded", (m) => (m.type = "container"), /type/],
  ["DeployStack", "empty compose", (m) => (m.composeYaml = ""), /composeYaml/],
  ["DeployStack", "compose too large", (m) => (m.composeYaml = "x".repeat(512 * 1024 + 1)), /composeYaml/],
  ["DeployStack", "uppercase stack name", (m) => (m.stackName = "Web"), /stackName/],
  ["DeployStack", "env value not a string", (m) => (m.env = { TAG: 1 }), /env/],
  ["DeployStack", "env name with a dash", (m) => (m.env = { "MY-VAR": "x" }), /env/],
  ["DeployStack", "secret without value", (m) => (m.secrets = [{ name: "a" }]), /secrets/],
  ["DeployStack", "secret name with a slash", (m) => (m.secrets = [{ name: "a/b", value: "v" }]), /secrets/],
  ["DeployStack", "unknown resolveImage", (m) => (m.resolveImage = "sometimes"), /resolveImage/],
  ["DeployStack", "zero timeout", (m) => (m.timeoutSeconds = 0), /timeoutSeconds/],
  ["DeployStack", "negative firstSeq", (m) => (m.firstSeq = -1), /firstSeq/],
  ["DeployStack", "prune as a string", (m) => (m.prune = "true"), /prune/],
  ["DeployStack", "negative health grace", (m) => (m.healthGraceSeconds = { app: -1 }), /healthGraceSeconds/],
  ["DeployStack", "health grace over an hour", (m) => (m.healthGraceSeconds = { app: 3601 }), /healthGraceSeconds/],
  ["RollbackStack", "health grace as a string", (m) => (m.healthGraceSeconds = { app: "5" }), /healthGraceSeconds/],
  ["RollbackStack", "no target release", (m) => delete m.targetReleaseId, /targetReleaseId/],
  ["RollbackStack", "no release it rolls back from", (m) => delete m.fromReleaseId, /fromReleaseId/],
  ["ScaleService", "negative replicas", (m) => (m.replicas = -1), /replicas/],
  ["ScaleService", "too many replicas", (m) => (m.replicas = 1001), /replicas/],
  ["ScaleService", "service with a space", (m) => (m.service = "my app"), /service/],
  ["GetLogs", "zero tail", (m) => (m.tail = 0), /tail/],
  ["GetLogs", "maxBytes over the limit", (m) => (m.maxBytes = 10 * 1024 * 1024), /maxBytes/],
  ["GetLogs", "since as a date string", (m) => (m.since = "2024-01-01"), /since/],
  ["SearchLogs", "no services", (m) => (m.services = []), /services/],
  ["SearchLogs", "the same service twice", (m) => (m.services = ["app", "app"]), /services/],
  ["SearchLogs", "empty text (null means every line)", (m) => (m.text = ""), /text/],
  ["SearchLogs", "since as a date string", (m) => (m.since = "2024-01-01T00:00:00Z"), /since/],
  ["FollowLogs", "follow id with a dot (it is a subject token)", (m) => (m.followId = "a.b"), /followId/],
  ["FollowLogs", "tail over the follow limit", (m) => (m.tail = 1001), /tail/],
  ["FollowLogs", "empty grep", (m) => (m.grep = ""), /grep/],
  ["FollowLogs", "grep over 200 characters", (m) => (m.grep = "x".repeat(201)), /grep/],
  ["FollowLogs", "lease of an hour", (m) => (m.leaseSeconds = 3600), /leaseSeconds/],
  ["RenewLogs", "lease under 5 s", (m) => (m.leaseSeconds = 1), /leaseSeconds/],
  ["StopLogs", "follow id with a wildcard", (m) => (m.followId = ">"), /followId/],
  ["GetStatus", "stack name with a dot", (m) => (m.stackName = "a.b"), /stackName/],
  ["CancelDeployment", "deployment id with a wildcard", (m) => (m.deploymentId = "*"), /deploymentId/],
  ["CommandEnvelope", "version 2", (m) => (m.v = 2), /\/v/],
  ["CommandEnvelope", "id not a uuid", (m) => (m.id = "1"), /\/id/],
  ["CommandEnvelope", "unknown command type", (m) => (m.type = "RunShell"), /type/],
  ["CommandEnvelope", "payload not an object", (m) => (m.payload = "x"), /payload/],
  ["CommandEnvelope", "signature of the wrong length", (m) => (m.sig = "abc"), /sig/],
  ["CommandResult", "ok false", (m) => (m.ok = false), /ok/],
  ["CommandRejected", "lowercase code", (m) => (m.code = "expired"), /code/],
  ["CommandRejectionReport", "missing code", (m) => delete m.code, /code/],
  ["ErrorReply", "ok true", (m) => (m.ok = true), /ok/],
  ["DeployStackResult", "unknown status", (m) => (m.status = "done"), /status/],
  ["ScaleServiceResult", "replicas as string", (m) => (m.replicas = "3"), /replicas/],
  [
    "GetLogsResult",
    "unknown stream",
    (m) => ((m.lines as Array<Record<string, unknown>>)[0]!.stream = "stdin"),
    /stream/,
  ],
  [
    "GetStatusResult",
    "task without state",
    (m) => delete (m.services as Array<{ tasks: Array<Record<string, unknown>> }>)[0]!.tasks[0]!.state,
    /state/,
  ],
  ["CancelDeploymentResult", "cancelled missing", (m) => delete m.cancelled, /cancelled/],
  ["RegisterRequest", "seed instead of public key", (m) => (m.publicKey = "SUAM" + "A".repeat(54)), /publicKey/],
  ["RegisterRequest", "empty token", (m) => (m.token = ""), /token/],
  ["RegisterResponse", "no NATS URLs", (m) => (m.natsUrls = []), /natsUrls/],
  ["RegisterResponse", "http NATS URL", (m) => (m.natsUrls = ["http://example.com"]), /natsUrls/],
  ["RegisterResponse", "NATS CA that is not a PEM certificate", (m) => (m.natsCa = "not a certificate"), /natsCa/],
  [
    "RegisterResponse",
    "user key as signing key",
    (m) => (m.commandSigningPublicKey = "U" + "A".repeat(55)),
    /commandSigningPublicKey/,
  ],
  ["RegisterResponse", "jwt not a JWT", (m) => (m.jwt = "not a jwt"), /jwt/],
  ["RenewCredentialsRequest", "requestedAt as string", (m) => (m.requestedAt = "now"), /requestedAt/],
  ["RenewCredentialsResponse", "missing expiry", (m) => delete m.expiresAt, /expiresAt/],
];

describe("protocol messages", () => {
  for (const type of MESSAGE_TYPES) {
    describe(type, () => {
      it("accepts the valid example", () => {
        expect(validateMessage(type, clone(EXAMPLE_MESSAGES[type]))).to.deep.equal(EXAMPLE_MESSAGES[type]);
      });

      it("rejects a missing required property, naming it", () => {
        for (const name of MESSAGE_SCHEMAS[type].required as string[]) {
          const value = clone(EXAMPLE_MESSAGES[type]) as unknown as Record<string, unknown>;
          delete value[name];
          expect(rejection(type, value).reason).to.include(`'${name}'`);
        }
      });

      it("rejects what is not an object", () => {
        for (const value of [null, "x", 1, []]) expect(rejection(type, value).code).to.equal("MALFORMED_MESSAGE");
      });

      if (type !== "RegisterResponse") {
        it("rejects an unknown property", () => {
          const value = { ...clone(EXAMPLE_MESSAGES[type]), surprise: 1 };
          expect(rejection(type, value).reason).to.match(/additional properties \(surprise\)/);
        });
      }

      for (const [t, what, mutate, reason] of INVALID.filter(([t]) => t === type)) {
        it(`rejects ${what}`, () => {
          const value = clone(EXAMPLE_MESSAGES[t]) as unknown as Record<string, unknown>;
          mutate(value);
          const err = rejection(t, value);
          expect(err.code).to.equal("MALFORMED_MESSAGE");
          expect(err.reason).to.match(reason);
        });
      }
    });
  }

  it("reads the events of a single event or of a batch, refusing a batch that mixes deployments", () => {
    const single = EXAMPLE_MESSAGES.DeploymentEvent;
    const batch = EXAMPLE_MESSAGES.DeploymentEventBatch;
    const bytes = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
    expect(decodeDeploymentEvents(bytes(single))).to.deep.equal([single]);
    expect(decodeDeploymentEvents(bytes(batch)).map((e) => e.seq)).to.deep.equal([1, 2]);
    const mixed = clone(batch);
    mixed.events[1]!.deploymentId = "another";
    expect(() => decodeDeploymentEvents(bytes(mixed))).to.throw(ProtocolError, /another deployment/);
    expect(() => decodeDeploymentEvents(new TextEncoder().encode("{"))).to.throw(ProtocolError, /not valid JSON/);
    expect(() => decodeDeploymentEvents(bytes({ ...single, level: "fatal" }))).to.throw(ProtocolError, /level/);
  });

  it("lets the control plane ignore unknown fields of a newer registration response", () => {
    const value = { ...clone(EXAMPLE_MESSAGES.RegisterResponse), leafNodeUrl: "nats-leaf://x:7422" };
    expect(validateMessage("RegisterResponse", value).clusterId).to.equal(EXAMPLE_MESSAGES.RegisterResponse.clusterId);
  });

  it("never echoes the rejected values (they may be secrets) in the reason", () => {
    const value = clone(EXAMPLE_MESSAGES.DeployStack) as unknown as Record<string, unknown>;
    value.secrets = [{ name: "db", value: 42 }];
    value.env = { PASSWORD: { nested: "hunter2" } };
    const err = rejection("DeployStack", value);
    expect(err.reason).to.not.include("hunter2");
    expect(err.reason).to.not.include("42");
  });

  it("validates command payloads and results by command type", () => {
    expect(validateCommandPayload("ScaleService", { stackName: "web", service: "app", replicas: 0 }).replicas).to.equal(
      0,
    );
    expect(() => validateCommandPayload("ScaleService", { stackName: "web" })).to.throw(ProtocolError, /service/);
    expect(validateCommandResult("RollbackStack", { deploymentId: "d1", status: "duplicate" }).status).to.equal(
      "duplicate",
    );
    expect(() => validateCommandResult("GetStatus", { deploymentId: "d1", status: "started" })).to.throw(
      ProtocolError,
      /GetStatusResult/,
    );
  });

  it("encodes and decodes through bytes, refusing to encode a malformed message", () => {
    const bytes = encodeMessage("Heartbeat", EXAMPLE_MESSAGES.Heartbeat);
    expect(decodeMessage("Heartbeat", bytes)).to.deep.equal(EXAMPLE_MESSAGES.Heartbeat);
    const bad = { ...EXAMPLE_MESSAGES.Heartbeat, uptimeSeconds: -5 };
    expect(() => encodeMessage("Heartbeat", bad)).to.throw(ProtocolError, /uptimeSeconds/);
    expect(() => decodeMessage("Heartbeat", new TextEncoder().encode("{nope"))).to.throw(
      ProtocolError,
      /not valid JSON/,
    );
  });

  it("tells a command result from a rejection by ok", () => {
    const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
    expect(decodeCommandReply(enc(EXAMPLE_MESSAGES.CommandResult)).ok).to.equal(true);
    expect(decodeCommandReply(enc(EXAMPLE_MESSAGES.CommandRejected)).ok).to.equal(false);
    expect(() => decodeCommandReply(enc({ ok: "yes" }))).to.throw(ProtocolError);
  });
});
