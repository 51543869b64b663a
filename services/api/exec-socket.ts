/**
 * The exec WebSocket (`GET …/tasks/{taskId}/exec`, `x-stream: websocket`): an interactive terminal in a task's
 * container. The gateway checks the upgrade exactly as the REST path checks a request (credential, org through the
 * environment, the route's permission, its parameters; a browser's Origin must be the gateway's own), subscribes
 * to the session's output subject, asks the agent to start (StartExec, audited), and only then accepts the
 * upgrade: every refusal is an HTTP status in the API's error shape. Afterwards it carries keystrokes and resizes
 * to the agent's input subject, the output back as binary frames, pings the agent's lease, records a bounded
 * transcript, and writes the session's end (audited) however it ends.
 */
import { revokeStale } from "./revoke-stale.js";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { NatsConnection, Subscription } from "nats";
import { WebSocketServer, type RawData, type WebSocket } from "ws";
import { BadRequestError, ForbiddenError, toErrorResponse, UnauthorizedError } from "../_shared/errors.js";
import { matchTemplate } from "../_shared/openapi.js";
import type { Principal, RequestInfo } from "../_shared/principal.js";
import type { RestParams } from "../_shared/rest.js";
import {
  decodeExecOutput,
  encodeExecMessage,
  MAX_EXEC_CHUNK_BYTES,
  type ExecInputMessage,
} from "../../nats/protocol/commands/index.js";
import type { ExecEnd, ExecSessionStep, ExecStarted, ExecTarget, ExecTranscript } from "../deployments/index.js";
import { isSameOrigin } from "./live-proxy.js";
import type { RouteOperation } from "./routes.js";

export const EXEC_SUBPROTOCOL = "stackyard.exec.v1";
/** A browser cannot set Authorization on a WebSocket: it offers `stackyard.bearer.<token>` beside the protocol. */
export const BEARER_SUBPROTOCOL_PREFIX = "stackyard.bearer.";
/** Binary client frames start with one of these; text frames are keystrokes. */
export const EXEC_CHANNEL = { stdin: 0, resize: 1 } as const;
/** A client frame larger than this closes the socket (1009): keystrokes and pastes fit many times over. */
export const EXEC_MAX_FRAME_BYTES = 64 * 1024;

export interface ExecSteps {
  target(): Promise<ExecTarget>;
  start(): Promise<ExecStarted>;
  end(end: ExecEnd): Promise<unknown>;
}

export interface ExecHubOptions {
  pingMs: number;
  transcript: { inputBytes: number; outputBytes: number };
  onError(message: string, err: unknown): void;
}

/** The first bytes of a session's input and output, for its audit row; the rest is counted only. */
export class TranscriptRecorder {
  private readonly input: Buffer[] = [];
  private readonly output: Buffer[] = [];
  private inputBytes = 0;
  private outputBytes = 0;

  constructor(private readonly limits: { inputBytes: number; outputBytes: number }) {}

  recordInput(chunk: Buffer): void {
    this.inputBytes = keep(this.input, this.inputBytes, chunk, this.limits.inputBytes);
  }

  recordOutput(chunk: Buffer): void {
    this.outputBytes = keep(this.output, this.outputBytes, chunk, this.limits.outputBytes);
  }

  transcript(): ExecTranscript {
    return {
      input: storableText(Buffer.concat(this.input)),
      output: storableText(Buffer.concat(this.output)),
      inputBytes: this.inputBytes,
      outputBytes: this.outputBytes,
      truncated: this.inputBytes > this.limits.inputBytes || this.outputBytes > this.limits.outputBytes,
    };
  }
}

function keep(parts: Buffer[], total: number, chunk: Buffer, limit: number): number {
  const room = limit - Math.min(total, limit);
  if (room > 0) parts.push(chunk.subarray(0, room));
  return total + chunk.length;
}

/** Terminal bytes as text Postgres stores (jsonb refuses U+0000); invalid UTF-8 becomes U+FFFD. */
const storableText = (bytes: Buffer): string => bytes.toString("utf8").split("\u0000").join("\ufffd");

interface Session {
  stillValid: () => Promise<boolean>;
  revoke: () => void;
}

export class ExecSocketHub {
  private readonly sessions = new Set<Session>();
  private readonly wss = new WebSocketServer({
    noServer: true,
    maxPayload: EXEC_MAX_FRAME_BYTES,
    handleProtocols: (protocols) => (protocols.has(EXEC_SUBPROTOCOL) ? EXEC_SUBPROTOCOL : false),
  });

  constructor(
    private readonly nats: () => Promise<NatsConnection>,
    private readonly options: ExecHubOptions,
  ) {}

  get size(): number {
    return this.sessions.size;
  }

  /** Ends the sessions whose credential is no longer valid (see DeploymentStreamHub.recheck). */
  async recheck(): Promise<number> {
    return revokeStale([...this.sessions]);
  }

  close(): void {
    for (const client of this.wss.clients) client.terminate();
    this.wss.close();
  }

  /** Starts the session and accepts the upgrade; throws (nothing written to `socket`) when it cannot start. */
  async serve(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    steps: ExecSteps,
    stillValid: () => Promise<boolean>,
  ): Promise<void> {
    const target = await steps.target();
    const nc = await this.nats();
    const sub = nc.subscribe(target.outputSubject);
    let started: ExecStarted;
    try {
      // The server must know of the subscription before the agent's first output is published.
      await nc.flush();
      started = await steps.start();
    } catch (err) {
      sub.unsubscribe();
      throw err;
    }
    const startedAt = Date.now();
    const recorder = new TranscriptRecorder(this.options.transcript);
    const toAgent = (message: ExecInputMessage) => {
      try {
        nc.publish(target.inputSubject, encodeExecMessage(message));
      } catch (err) {
        this.options.onError("exec: input not sent", err);
      }
    };
    let ws: WebSocket | null = null;
    let ended = false;
    const timers: { ping?: NodeJS.Timeout } = {};
    const finish = (how: { reason: ExecEnd["reason"]; exitCode?: number | null; message?: string | null }) => {
      if (ended) return;
      ended = true;
      clearInterval(timers.ping);
      this.sessions.delete(session);
      sub.unsubscribe();
      // The agent's own end (exit, timeouts) needs no answer; anything the gateway decides, the agent must hear.
      if (
        !["exited", "idle_timeout", "max_duration", "lease_expired", "agent_stopping", "error"].includes(how.reason)
      ) {
        toAgent({ type: "close" });
      }
      if (ws && ws.readyState === ws.OPEN) {
        ws.send(
          JSON.stringify({
            type: "exit",
            reason: how.reason,
            exitCode: how.exitCode ?? null,
            message: how.message ?? null,
          }),
        );
        ws.close(how.reason === "revoked" ? 1008 : 1000, how.reason === "revoked" ? "CREDENTIAL_REVOKED" : how.reason);
      } else {
        socket.destroy();
      }
      steps
        .end({
          sessionId: started.sessionId,
          service: started.service,
          taskId: started.taskId,
          reason: how.reason,
          exitCode: how.exitCode ?? null,
          durationMs: Date.now() - startedAt,
          transcript: recorder.transcript(),
        })
        .catch((err: unknown) => this.options.onError("exec: the session's end was not audited", err));
    };
    const session: Session = { stillValid, revoke: () => finish({ reason: "revoked" }) };
    this.sessions.add(session);
    timers.ping = setInterval(() => toAgent({ type: "ping" }), this.options.pingMs);

    if (socket.destroyed) return finish({ reason: "closed" });
    socket.once("close", () => {
      if (!ws) finish({ reason: "closed" });
    });
    this.wss.handleUpgrade(req, socket, head, (accepted) => {
      ws = accepted;
      accepted.send(
        JSON.stringify({
          type: "started",
          sessionId: started.sessionId,
          taskId: started.taskId,
          nodeId: started.nodeId,
          containerId: started.containerId,
        }),
      );
      accepted.on("message", (data: RawData, isBinary: boolean) => {
        const frame = Buffer.isBuffer(data) ? data : Buffer.concat(Array.isArray(data) ? data : [Buffer.from(data)]);
        const input = clientInput(frame, isBinary);
        if (input?.type === "resize") toAgent(input);
        else if (input) {
          recorder.recordInput(input.bytes);
          for (let at = 0; at < input.bytes.length; at += MAX_EXEC_CHUNK_BYTES) {
            toAgent({ type: "stdin", data: input.bytes.subarray(at, at + MAX_EXEC_CHUNK_BYTES).toString("base64") });
          }
        }
      });
      accepted.on("close", () => finish({ reason: "closed" }));
      accepted.on("error", () => finish({ reason: "closed" }));
      void this.pump(sub, accepted, recorder, finish);
    });
  }

  private async pump(
    sub: Subscription,
    ws: WebSocket,
    recorder: TranscriptRecorder,
    finish: (how: { reason: ExecEnd["reason"]; exitCode?: number | null; message?: string | null }) => void,
  ): Promise<void> {
    for await (const msg of sub) {
      const message = decodeExecOutput(msg.data);
      if (!message) continue;
      if (message.type === "data") {
        const bytes = Buffer.from(message.data, "base64");
        recorder.recordOutput(bytes);
        if (ws.readyState === ws.OPEN) ws.send(bytes, { binary: true });
      } else {
        return finish({ reason: message.reason, exitCode: message.exitCode, message: message.message });
      }
    }
    // The subscription ended without the session's end (the gateway's NATS connection closed).
    finish({ reason: "agent_unreachable", message: "the gateway lost its NATS connection" });
  }
}

type ClientInput = { type: "stdin"; bytes: Buffer } | { type: "resize"; cols: number; rows: number };

/** A client frame: text is keystrokes; binary is a channel byte and its payload. Anything else is dropped. */
export function clientInput(frame: Buffer, isBinary: boolean): ClientInput | null {
  if (!isBinary) return frame.length > 0 ? { type: "stdin", bytes: frame } : null;
  const channel = frame[0];
  if (channel === EXEC_CHANNEL.stdin) return frame.length > 1 ? { type: "stdin", bytes: frame.subarray(1) } : null;
  if (channel === EXEC_CHANNEL.resize) {
    try {
      const size = JSON.parse(frame.subarray(1).toString("utf8")) as { cols?: unknown; rows?: unknown };
      const ok = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 1000;
      return ok(size.cols) && ok(size.rows) ? { type: "resize", cols: size.cols, rows: size.rows } : null;
    } catch {
      return null;
    }
  }
  return null;
}

/** The upgrade's credential as an Authorization header value: the header itself, else the bearer subprotocol. */
export function upgradeAuthorization(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (typeof header === "string") return header;
  const offered = (req.headers["sec-websocket-protocol"] ?? "").split(",").map((p) => p.trim());
  const bearer = offered.find((p) => p.startsWith(BEARER_SUBPROTOCOL_PREFIX));
  return bearer ? `Bearer ${bearer.slice(BEARER_SUBPROTOCOL_PREFIX.length)}` : undefined;
}

/** A well-formed WebSocket upgrade (RFC 6455 §4.2.1), checked before a session is started for it. */
export function isWebSocketUpgrade(req: IncomingMessage): boolean {
  return (
    req.method === "GET" &&
    (req.headers.upgrade ?? "").toLowerCase() === "websocket" &&
    typeof req.headers["sec-websocket-key"] === "string" &&
    /^[A-Za-z0-9+/]{22}==$/.test(req.headers["sec-websocket-key"]) &&
    req.headers["sec-websocket-version"] === "13"
  );
}

export interface ExecUpgradeDeps {
  /** The routes served on the upgrade (`x-stream: websocket`). */
  routes: RouteOperation[];
  hub: ExecSocketHub;
  authenticate(authorization: string | undefined): Promise<Principal | null>;
  /** One call of the route's action with the caller as meta (the gateway's broker). */
  call<T>(op: RouteOperation, params: Record<string, unknown>, principal: Principal, request: RequestInfo): Promise<T>;
  requestInfo(req: IncomingMessage): RequestInfo;
  newSessionId(): string;
  /** A refused upgrade of an authenticated caller (for the refusal audit, as REST refusals). */
  onRefused(
    principal: Principal,
    op: RouteOperation,
    status: number,
    error: { code: string; message: string },
    request: RequestInfo,
  ): void;
  onError(message: string, err: unknown): void;
}

/** The request's query as the route declares it: `command` repeated into an array, the rest single-valued. */
function queryOf(url: URL): Record<string, unknown> {
  const query: Record<string, unknown> = {};
  for (const key of new Set(url.searchParams.keys())) {
    query[key] = key === "command" ? url.searchParams.getAll(key) : url.searchParams.get(key);
  }
  return query;
}

function refuse(socket: Duplex, err: unknown): { status: number; body: { error: { code: string; message: string } } } {
  const response = toErrorResponse(err);
  const body = JSON.stringify(response.body);
  if (!socket.destroyed) {
    socket.end(
      `HTTP/1.1 ${response.status} ${response.body.error.code}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  return response;
}

/** The upgrade side of the websocket routes: `match` finds the route of a path, `handle` serves it. */
export function createExecUpgrade(deps: ExecUpgradeDeps): {
  match(pathname: string): RouteOperation | null;
  handle(op: RouteOperation, req: IncomingMessage, socket: Duplex, head: Buffer): void;
} {
  const match = (pathname: string) => deps.routes.find((r) => matchTemplate(r.template, pathname) !== null) ?? null;
  const handle = (op: RouteOperation, req: IncomingMessage, socket: Duplex, head: Buffer) => {
    let principal: Principal | null = null;
    const request = deps.requestInfo(req);
    const run = async () => {
      if (!isWebSocketUpgrade(req)) {
        throw new BadRequestError("BAD_UPGRADE", "not a WebSocket upgrade (RFC 6455, version 13)");
      }
      if (!isSameOrigin(req)) throw new ForbiddenError("FOREIGN_ORIGIN", "the Origin is not this gateway's");
      const authorization = upgradeAuthorization(req);
      principal = await deps.authenticate(authorization);
      if (!principal) throw new UnauthorizedError("UNAUTHENTICATED", "authentication required");
      const caller = principal;
      if (op.permission && !caller.permissions.includes(op.permission)) {
        throw new ForbiddenError("PERMISSION_DENIED", `this needs the "${op.permission}" permission`, {
          missingPermission: op.permission,
        });
      }
      const url = new URL(req.url ?? "/", "http://gateway");
      const params: RestParams = {
        params: matchTemplate(op.template, url.pathname) ?? {},
        query: queryOf(url),
        body: undefined,
      };
      op.validate(params);
      const sessionId = deps.newSessionId();
      const step = <T>(name: ExecSessionStep, extra: Record<string, unknown> = {}) =>
        deps.call<T>(op, { ...params, sessionId, step: name, ...extra }, caller, request);
      await deps.hub.serve(
        req,
        socket,
        head,
        {
          target: () => step("target"),
          start: () => step("start"),
          end: (end) => step("end", { end }),
        },
        async () => (await deps.authenticate(authorization)) !== null,
      );
    };
    run().catch((err: unknown) => {
      const { status, body } = refuse(socket, err);
      if (status >= 500 && body.error.code === "INTERNAL") deps.onError("exec: upgrade failed", err);
      if (principal) deps.onRefused(principal, op, status, body.error, request);
    });
  };
  return { match, handle };
}
