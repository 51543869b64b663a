import { expect } from "chai";
import { ReplayGuard, createCommandSigningKey, signCommand, signEnvelope } from "../../nats/protocol/envelope.js";
import { EXAMPLE_MESSAGES } from "../../nats/protocol/examples.js";
import { validateMessage, type CommandRejected, type CommandResult } from "../../nats/protocol/messages.js";
import { commandSubject, type CommandType } from "../../nats/protocol/subjects.js";
import { DeployError } from "./deploy/errors.js";
import { processCommand, type CommandHandlers, type CommandProcessorOptions } from "./commands.js";
import { createLogger } from "./logger.js";
import { createGetStatusHandler } from "./handlers/status.js";
import { FakeEngine } from "./testing/fake-engine.js";

const CLUSTER = "c1";
const NOW = 1_700_000_000_000;
const cp = createCommandSigningKey();
const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

function options(handlers: CommandHandlers, overrides: Partial<CommandProcessorOptions> = {}): CommandProcessorOptions {
  return {
    clusterId: CLUSTER,
    commandSigningPublicKey: cp.publicKey,
    replayGuard: new ReplayGuard(),
    handlers,
    now: () => NOW + 100,
    log: createLogger({ level: "error", write: () => undefined }),
    signal: new AbortController().signal,
    ...overrides,
  };
}

const status = (stackName = "web") =>
  signCommand(cp.seed, { type: "GetStatus", orgId: "o1", clusterId: CLUSTER, payload: { stackName }, issuedAt: NOW });

describe("command processing", () => {
  const engine = new FakeEngine();
  const handlers: CommandHandlers = { GetStatus: createGetStatusHandler(engine) };

  it("runs a verified command and replies with its validated result", async () => {
    const envelope = status();
    const { reply, report } = await processCommand(
      commandSubject(CLUSTER, "GetStatus"),
      enc(envelope),
      options(handlers),
    );
    const result = validateMessage("CommandResult", reply) as CommandResult;
    expect(result.commandId).to.equal(envelope.id);
    expect(validateMessage("GetStatusResult", result.result).services[0]!.name).to.equal("web_app");
    expect(report).to.equal(null);
  });

  it("logs the command's lines with the request id it came with, and without one when it had none", async () => {
    const lines: string[] = [];
    const log = createLogger({ level: "info", write: (line) => lines.push(line) });
    await processCommand(commandSubject(CLUSTER, "GetStatus"), enc(status()), options(handlers, { log }), "req-42");
    await processCommand(commandSubject(CLUSTER, "GetStatus"), enc(status()), options(handlers, { log }));
    const accepted = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.msg === "command accepted");
    expect(accepted.map((l) => l.requestId)).to.deep.equal(["req-42", undefined]);
  });

  const refusals: Array<[string, () => { subject: string; data: Uint8Array }, string]> = [
    [
      "garbage",
      () => ({ subject: commandSubject(CLUSTER, "GetStatus"), data: new TextEncoder().encode("{") }),
      "MALFORMED_MESSAGE",
    ],
    [
      "a bad signature",
      () => ({
        subject: commandSubject(CLUSTER, "GetStatus"),
        data: enc({ ...status(), payload: { stackName: "other" } }),
      }),
      "BAD_SIGNATURE",
    ],
    [
      "another cluster's command",
      () => ({
        subject: commandSubject(CLUSTER, "GetStatus"),
        data: enc(
          signCommand(cp.seed, {
            type: "GetStatus",
            orgId: "o1",
            clusterId: "c2",
            payload: { stackName: "web" },
            issuedAt: NOW,
          }),
        ),
      }),
      "WRONG_CLUSTER",
    ],
    [
      "an expired command",
      () => ({
        subject: commandSubject(CLUSTER, "GetStatus"),
        data: enc(
          signCommand(cp.seed, {
            type: "GetStatus",
            orgId: "o1",
            clusterId: CLUSTER,
            payload: { stackName: "web" },
            issuedAt: NOW - 3_600_000,
          }),
        ),
      }),
      "EXPIRED",
    ],
    [
      "a type other than the subject's",
      () => ({ subject: commandSubject(CLUSTER, "GetLogs"), data: enc(status()) }),
      "MALFORMED_MESSAGE",
    ],
    [
      "a signed but malformed payload",
      () => {
        const { sig: _s, ...fields } = status();
        return {
          subject: commandSubject(CLUSTER, "GetStatus"),
          data: enc(signEnvelope(cp.seed, { ...fields, payload: { stackName: "NOT VALID" } })),
        };
      },
      "MALFORMED_MESSAGE",
    ],
    [
      "a command this agent has no handler for",
      () => ({
        subject: commandSubject(CLUSTER, "ScaleService"),
        data: enc(
          signCommand(cp.seed, {
            type: "ScaleService",
            orgId: "o1",
            clusterId: CLUSTER,
            payload: EXAMPLE_MESSAGES.ScaleService,
            issuedAt: NOW,
          }),
        ),
      }),
      "NOT_SUPPORTED",
    ],
  ];
  for (const [what, make, code] of refusals) {
    it(`refuses ${what} with ${code}, and reports it`, async () => {
      const { subject, data } = make();
      const { reply, report } = await processCommand(subject, data, options(handlers));
      const rejected = validateMessage("CommandRejected", reply) as CommandRejected;
      expect(rejected.code).to.equal(code);
      expect(validateMessage("CommandRejectionReport", report)).to.deep.include({ clusterId: CLUSTER, subject, code });
    });
  }

  it("refuses a replayed command", async () => {
    const opts = options(handlers);
    const envelope = status();
    expect((await processCommand(commandSubject(CLUSTER, "GetStatus"), enc(envelope), opts)).reply.ok).to.equal(true);
    const again = await processCommand(commandSubject(CLUSTER, "GetStatus"), enc(envelope), opts);
    expect((again.reply as CommandRejected).code).to.equal("REPLAYED");
    expect(again.report?.commandId).to.equal(envelope.id);
  });

  it("passes a handler's typed error code through, without reporting it as an attack", async () => {
    const failing: CommandHandlers = {
      GetStatus: async () => {
        throw new DeployError("SERVICE_NOT_FOUND", "service app not found in stack web");
      },
    };
    const { reply, report } = await processCommand(
      commandSubject(CLUSTER, "GetStatus"),
      enc(status()),
      options(failing),
    );
    expect(reply).to.deep.include({
      ok: false,
      code: "SERVICE_NOT_FOUND",
      reason: "service app not found in stack web",
    });
    expect(report).to.equal(null);
  });

  it("hides an untyped handler error, which may carry anything", async () => {
    const crashing: CommandHandlers = {
      GetStatus: async () => {
        throw new Error("open /root/.docker/config.json: token=abc");
      },
    };
    const { reply } = await processCommand(commandSubject(CLUSTER, "GetStatus"), enc(status()), options(crashing));
    expect(reply).to.deep.include({ ok: false, code: "HANDLER_FAILED" });
    expect(JSON.stringify(reply)).to.not.include("token=abc");
  });

  it("refuses to return a result that breaks the protocol", async () => {
    const sloppy = { GetStatus: async () => ({ stackName: "web" }) } as unknown as CommandHandlers;
    const { reply } = await processCommand(commandSubject(CLUSTER, "GetStatus"), enc(status()), options(sloppy));
    expect(reply).to.deep.include({ ok: false, code: "HANDLER_FAILED" });
  });

  it("hands the handler the verified envelope and the shutdown signal", async () => {
    const controller = new AbortController();
    let seen: { type: CommandType; signal: AbortSignal } | null = null;
    const spy: CommandHandlers = {
      GetStatus: async (payload, ctx) => {
        seen = { type: ctx.command.type, signal: ctx.signal };
        return { stackName: payload.stackName, exists: false, services: [] };
      },
    };
    await processCommand(
      commandSubject(CLUSTER, "GetStatus"),
      enc(status()),
      options(spy, { signal: controller.signal }),
    );
    expect(seen).to.deep.equal({ type: "GetStatus", signal: controller.signal });
  });
});
