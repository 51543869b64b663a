/**
 * The REST gateway: the routing table generated from openapi.yaml, authentication, the one authorization
 * check, request validation and error mapping — nothing else. Business logic lives behind the actions.
 */
import { retryRead } from "./retry-read.js";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Context, Service, ServiceSchema } from "moleculer";
import ApiGateway, { type ApiSettingsSchema } from "moleculer-web";
import type { Config } from "../_shared/config.js";
import { clientIp } from "../_shared/client-ip.js";
import { pendingMigrations, type Db } from "../_shared/db.js";
import { RefusalAuditBudget, refusalAuditEntry } from "./refusal-audit.js";
import {
  AppError,
  BadRequestError,
  ForbiddenError,
  NotFoundError,
  UnauthorizedError,
  toErrorResponse,
} from "../_shared/errors.js";
import { loadOpenApi, templateRegExp } from "../_shared/openapi.js";
import { WEBHOOK_HEADERS, type WebhookMeta } from "../stacks/index.js";
import { OPENAPI_FILE } from "../_shared/paths.js";
import type { CallMeta, Principal, RequestInfo } from "../_shared/principal.js";
import { bootstrapTokenMatches, createAuthenticator } from "../auth/index.js";
import { applySessionCookie, takeRefreshTokenFromCookie } from "./session-cookie.js";
import { checkReadiness, withoutDetails } from "./readiness.js";
import {
  CREDENTIALS_REVOKED_EVENT,
  DEPLOYMENT_EVENTS_BROADCAST,
  REQUEST_REFUSED_EVENT,
  type CredentialsRevoked,
  type DeploymentEventsBroadcast,
  type RequestRefused,
} from "../_shared/bus-events.js";
import type { RestParams } from "../_shared/rest.js";
import { buildRouteTable, type RouteOperation } from "./routes.js";
import { publicBrokerError } from "./broker-errors.js";
import { bodyParserError } from "./body-errors.js";
import { isWebhookRequest, webhookBodyReader, type WebhookRequest } from "./webhook-body.js";
import { DeploymentStreamHub, type ReplayPage } from "./sse.js";
import { writeLogSearch, type LogSearchAnswer } from "./log-search-stream.js";
import { LogStreamHub } from "./log-stream.js";
import { connectNats } from "../_shared/nats.js";
import {
  EXEC_PING_MS,
  EXEC_TRANSCRIPT_INPUT_BYTES,
  EXEC_TRANSCRIPT_OUTPUT_BYTES,
  LOG_FOLLOW_RENEW_MS,
} from "../deployments/index.js";
import type { NatsConnection } from "nats";
import { createStaticUiMiddleware } from "./static-ui.js";
import { createLiveProxy, routeUpgrades, type UpgradeHandler } from "./live-proxy.js";
import { createExecUpgrade, ExecSocketHub } from "./exec-socket.js";
import { LIVE_PATH } from "../../nats/protocol/integration-subjects.js";
import { validRequestId } from "../../nats/protocol/request-id.js";
import { httpMetricsMiddleware, routeLabeller } from "./http-metrics.js";
import { sseStreamsOpen } from "../_shared/metrics.js";

export interface ApiServiceDeps {
  config: Config;
  db: Db;
}

/** Broadcast by the auth service whenever a token or session is revoked. */

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store" });
  res.end(JSON.stringify(body));
}

/** Environments and releases live at top-level URLs, whatever collection created them. */
function canonicalLocation(collectionPath: string, id: string): string {
  const top = /\/(environments|releases)$/.exec(collectionPath);
  return top ? `/v1/${top[1]}/${id}` : `${collectionPath}/${id}`;
}

function createdId(data: unknown): string | undefined {
  if (!data || typeof data !== "object") return undefined;
  const own = (data as { id?: unknown }).id;
  if (typeof own === "string") return own;
  for (const value of Object.values(data)) {
    const nested = (value as { id?: unknown } | null)?.id;
    if (typeof nested === "string") return nested;
  }
  return undefined;
}

/** Narrow view of the NATS connection inside moleculer's transporter, used only to ping the server. */
interface FlushableClient {
  flush(): Promise<void>;
}

interface GatewayRequest extends IncomingMessage {
  $params: RestParams;
  $ctx: Context<unknown, CallMeta>;
}

interface MatchedAlias {
  method: string;
  path: string;
  /** Null for the gateway's own function aliases (health, spec). */
  action: string | null;
}

type Middleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

function jsonBodyParser(limitBytes: number): Middleware {
  const parse = ApiGateway.bodyParser.json({ limit: limitBytes, strict: true }) as Middleware;
  const readWebhook = webhookBodyReader() as Middleware;
  return (req, res, next) => {
    if (req.method === "GET" || req.method === "HEAD") return next();
    // A git webhook's signature covers its raw bytes: read, never parsed (webhook-body.ts).
    if (isWebhookRequest(req)) return readWebhook(req, res, next);
    return parse(req, res, next);
  };
}

const singleHeader = (value: string | string[] | undefined): string | undefined =>
  Array.isArray(value) ? undefined : value;

export function createApiService({ config, db }: ApiServiceDeps): ServiceSchema<ApiSettingsSchema> {
  const openapiYaml = readFileSync(OPENAPI_FILE, "utf8");
  const routeTable = buildRouteTable(loadOpenApi());
  const byAlias = new Map(routeTable.map((r) => [`${r.method} ${r.aliasPath}`, r]));
  const authenticator = createAuthenticator({
    db,
    accessTokens: {
      keys: config.auth.jwtKeys,
      issuer: config.auth.issuer,
      audience: config.auth.audience,
      ttlSeconds: config.auth.accessTokenTtlSeconds,
    },
    cacheTtlSeconds: config.auth.credentialCacheTtlSeconds,
  });

  const streams = new DeploymentStreamHub();
  // Opened on the first log follow or exec session: only they need the gateway on NATS beyond Moleculer's transporter.
  let logsNats: Promise<NatsConnection> | null = null;
  const natsForLogs = () => {
    logsNats ??= connectNats(config.nats, config.nats.credsFile, "stackyard-api-logs").catch((err: unknown) => {
      logsNats = null;
      throw err;
    });
    return logsNats;
  };
  const logStreams = new LogStreamHub(natsForLogs, { renewMs: LOG_FOLLOW_RENEW_MS });
  let execHub: ExecSocketHub | undefined;
  let stopSseMetric: (() => void) | undefined;
  const staticUi = createStaticUiMiddleware(config.http.webDistDir, {
    https: config.clusters.publicUrl.startsWith("https:"),
  });

  /** The live log stream (log-stream.ts): each step is a call of the route's one action with the route's params. */
  const logStreamHandler = (op: RouteOperation) =>
    function (this: unknown, req: GatewayRequest, res: ServerResponse, next: (err?: unknown) => void) {
      const ctx = req.$ctx;
      const followId = randomUUID();
      const step = <T>(name: "target" | "start" | "renew" | "stop") =>
        ctx.call<T, unknown>(op.action, { ...req.$params, followId, step: name }, { meta: ctx.meta });
      const authorization = req.headers.authorization;
      const stillValid = async () =>
        (await authenticator.authenticate(typeof authorization === "string" ? authorization : undefined)) !== null;
      logStreams
        .serve(
          res,
          {
            target: () => step("target"),
            start: () => step("start"),
            renew: () => step("renew"),
            stop: () => step("stop"),
          },
          stillValid,
        )
        .catch((err: unknown) => {
          if (!res.headersSent) next(err);
          else res.end();
        });
    };

  /** A websocket route reached without an upgrade: the route exists, but only as a WebSocket (exec-socket.ts). */
  const upgradeRequired = () =>
    function (this: unknown, _req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) {
      res.setHeader("Upgrade", "websocket");
      next(
        new AppError(426, "UPGRADE_REQUIRED", "this route is a WebSocket: open it with an Upgrade: websocket request"),
      );
    };

  /** The log search (log-search-stream.ts): one call of the action, its answer written as events. */
  const logSearchHandler = (op: RouteOperation) =>
    function (this: unknown, req: GatewayRequest, res: ServerResponse, next: (err?: unknown) => void) {
      const ctx = req.$ctx;
      ctx.call<LogSearchAnswer, unknown>(op.action, req.$params, { meta: ctx.meta }).then(
        (answer) => writeLogSearch(res, answer),
        (err: unknown) => next(err),
      );
    };

  /** Alias middleware for x-stream: sse routes: runs after authentication and authorization. */
  const sseHandler = (op: RouteOperation) =>
    op.operationId === "followServiceLogs"
      ? logStreamHandler(op)
      : op.operationId === "searchEnvironmentLogs"
        ? logSearchHandler(op)
        : deploymentStreamHandler(op);
  const deploymentStreamHandler = (op: RouteOperation) =>
    function (this: unknown, req: GatewayRequest, res: ServerResponse, next: (err?: unknown) => void) {
      const ctx = req.$ctx;
      // Deployments and builds stream alike (a build's events are keyed by its id in the same hub).
      const params = req.$params as RestParams<
        unknown,
        { lastEventId?: number },
        { deploymentId?: string; buildId?: string }
      >;
      const streamId = params.params.deploymentId ?? params.params.buildId ?? "";
      const header = req.headers["last-event-id"];
      const fromHeader = typeof header === "string" && /^-?\d+$/.test(header) ? Number(header) : null;
      if (fromHeader !== null && (!Number.isSafeInteger(fromHeader) || fromHeader < -1)) {
        next(
          new BadRequestError("VALIDATION_FAILED", "Last-Event-ID must be an event seq: an integer from -1 to 2^53-1", [
            { in: "header", path: "/Last-Event-ID", message: "must be an integer from -1 to 2^53-1" },
          ]),
        );
        return;
      }
      const startAfter = fromHeader ?? params.query.lastEventId ?? null;
      // A replay page is a read: retried on another instance when a request is lost in a NATS failover.
      const fetchPage = (afterSeq: number | null) =>
        retryRead((timeout) =>
          ctx.call<ReplayPage, unknown>(op.action, { ...params, afterSeq }, { meta: ctx.meta, timeout }),
        );
      const authorization = req.headers.authorization;
      // Re-run when a credential is revoked: a logged-out session or revoked token loses its open streams.
      const stillValid = async () =>
        (await authenticator.authenticate(typeof authorization === "string" ? authorization : undefined)) !== null;
      streams.serve(res, streamId, startAfter, fetchPage, stillValid).catch((err: unknown) => {
        if (!res.headersSent) next(err);
        else res.end();
      });
    };

  const operationOf = (alias: MatchedAlias): RouteOperation => {
    const op = byAlias.get(`${alias.method} ${alias.path.startsWith("/") ? alias.path : "/" + alias.path}`);
    if (!op) throw new NotFoundError("NOT_FOUND", "Not found");
    return op;
  };

  const requestInfo = (req: IncomingMessage): RequestInfo => {
    const forwarded = req.headers["x-forwarded-for"];
    const ua = req.headers["user-agent"];
    return {
      ip: clientIp(
        req.socket.remoteAddress,
        Array.isArray(forwarded) ? forwarded.join(",") : forwarded,
        config.auth.trustedProxies,
      ),
      userAgent: typeof ua === "string" ? ua : null,
    };
  };

  const refusalBudget = new RefusalAuditBudget();
  /** Refused mutating requests of authenticated callers go to the audit log (rules in refusal-audit.ts). */
  const auditRefused = (
    service: Service,
    principal: Principal,
    op: RouteOperation,
    status: number,
    body: { code: string; message: string },
    request: RequestInfo,
  ) => {
    const entry = refusalAuditEntry(principal, {
      method: op.method,
      operationId: op.operationId,
      route: op.template,
      status,
      code: body.code,
      message: body.message,
      acting: op.stream === "websocket",
    });
    if (!entry) return;
    const { write, droppedBefore } = refusalBudget.take(`${principal.orgId}:${principal.actorId}`);
    if (!write) return;
    if (droppedBefore > 0) entry.data = { ...entry.data, droppedBefore };
    const payload: RequestRefused = {
      orgId: principal.orgId,
      entry: {
        actorType: entry.actorType,
        actorId: entry.actorId,
        action: entry.action,
        targetType: entry.targetType ?? null,
        targetId: entry.targetId ?? null,
        data: entry.data ?? {},
      },
      request,
    };
    Promise.resolve(service.broker.emit(REQUEST_REFUSED_EVENT, payload)).catch((auditErr: unknown) =>
      service.logger.warn({ msg: "refused request not audited", operationId: op.operationId, err: String(auditErr) }),
    );
  };
  const auditRefusal = (
    service: Service,
    req: GatewayRequest & { $alias?: MatchedAlias },
    status: number,
    body: { code: string; message: string },
  ) => {
    const ctx = req.$ctx as GatewayRequest["$ctx"] | undefined;
    const principal = ctx?.meta.principal;
    const alias = req.$alias;
    if (!ctx || !principal || !alias?.action) return;
    const op = byAlias.get(`${alias.method} ${alias.path.startsWith("/") ? alias.path : "/" + alias.path}`);
    if (!op) return;
    auditRefused(service, principal, op, status, body, ctx.meta.request ?? requestInfo(req));
  };

  return {
    name: "api",
    mixins: [ApiGateway],
    settings: {
      ip: config.http.host,
      // The request's id: the caller's X-Request-Id when well-formed, else a new one. Moleculer carries it as
      // ctx.requestID through every call; the gateway answers it in X-Request-ID and in error bodies.
      // (moleculer-web calls a function here; its types only describe the object form.)
      rootCallOptions: ((options: { requestID?: string }, req: IncomingMessage) => {
        options.requestID = validRequestId(singleHeader(req.headers["x-request-id"])) ?? randomUUID();
      }) as unknown as ApiSettingsSchema["rootCallOptions"],
      port: config.http.port,
      log4XXResponses: false,
      use: [httpMetricsMiddleware(routeLabeller(routeTable)), ...(staticUi ? [staticUi] : [])],
      logRequest: "debug",
      // Request bodies carry passwords, tokens and secret values: never log them, at any level.
      logRequestParams: null,
      logResponseData: null,
      routes: [
        {
          path: "/",
          mappingPolicy: "restrict",
          mergeParams: false,
          authentication: true,
          authorization: true,
          // JSON bodies of the methods that carry one; a GET's body has no meaning and is never read, so the
          // probes and reads answer whatever comes with them.
          bodyParsers: false,
          use: [jsonBodyParser(config.http.bodyLimitBytes)],
          aliases: {
            // Built-in, public routes served by the gateway itself.
            "GET healthz"(this: { broker: { nodeID: string } }, _req: IncomingMessage, res: ServerResponse) {
              sendJson(res, 200, { status: "ok", node: this.broker.nodeID });
            },
            async "GET readyz"(
              this: { readiness(): ReturnType<typeof checkReadiness>; logger: Service["logger"] },
              req: IncomingMessage,
              res: ServerResponse,
            ) {
              const readiness = await this.readiness();
              if (!readiness.ready) this.logger.warn({ msg: "not ready", checks: readiness.checks });
              // The reasons name hosts and driver errors: only the installation's operator (the system bootstrap
              // credential) reads them here; everyone else reads the logs' copy.
              const operator = bootstrapTokenMatches(
                config.auth.bootstrapToken,
                singleHeader(req.headers["x-bootstrap-token"]),
              );
              sendJson(res, readiness.ready ? 200 : 503, {
                status: readiness.ready ? "ready" : "not_ready",
                ...(operator ? readiness : withoutDetails(readiness)),
              });
            },
            "GET openapi.yaml"(_req: IncomingMessage, res: ServerResponse) {
              res.writeHead(200, { "Content-Type": "application/yaml; charset=utf-8" });
              res.end(openapiYaml);
            },
            ...Object.fromEntries(
              routeTable.map((r) => [
                `${r.method} ${r.aliasPath}`,
                r.stream === "websocket"
                  ? [upgradeRequired(), r.action]
                  : r.stream === "sse"
                    ? [sseHandler(r), r.action]
                    : r.action,
              ]),
            ),
          },
          onAfterCall(
            ctx: Context<unknown, CallMeta & { $location?: string }>,
            _route: unknown,
            req: IncomingMessage & { originalUrl?: string; $alias?: MatchedAlias },
            res: ServerResponse,
            data: unknown,
          ) {
            if (req.$alias?.action) data = applySessionCookie(operationOf(req.$alias).operationId, req, res, data);
            if (ctx.meta.$statusCode === 201) {
              // Location of what was created: its own id, or that of the resource the response wraps.
              const path = (req.originalUrl ?? req.url ?? "").split("?")[0] ?? "";
              const id = createdId(data);
              ctx.meta.$location = id ? canonicalLocation(path, id) : path;
            }
            return data;
          },
          onBeforeCall(ctx: Context<unknown, CallMeta>, _route: unknown, req: IncomingMessage) {
            ctx.meta.request = requestInfo(req);
            const idempotencyKey = req.headers["idempotency-key"];
            if (typeof idempotencyKey === "string")
              (ctx.meta as CallMeta & { idempotencyKey?: string }).idempotencyKey = idempotencyKey;
            const bootstrap = req.headers["x-bootstrap-token"];
            if (typeof bootstrap === "string")
              (ctx.meta as CallMeta & { bootstrapToken?: string }).bootstrapToken = bootstrap;
            const webhookBody = (req as WebhookRequest).$webhookBody;
            if (webhookBody !== undefined) {
              // Only the headers the verifier reads (WEBHOOK_HEADERS), single-valued.
              const headers = Object.fromEntries(
                WEBHOOK_HEADERS.map((h) => [h, singleHeader(req.headers[h])]).filter(([, v]) => v !== undefined),
              ) as Record<string, string>;
              (ctx.meta as CallMeta & { webhook?: WebhookMeta }).webhook = {
                bodyBase64: webhookBody.toString("base64"),
                headers,
              };
            }
          },
        },
      ],
      onError(this: Service, req: IncomingMessage, res: ServerResponse, err: Error) {
        let error: unknown = bodyParserError(err, config.http.bodyLimitBytes) ?? publicBrokerError(err) ?? err;
        const url = (req.url ?? "").split("?")[0] ?? "";
        const { status } = toErrorResponse(error);
        if (status === 404 && (error as { type?: string }).type !== undefined && !(error instanceof NotFoundError)) {
          // A known path with another method is a 405, not a 404.
          const methods = routeTable.filter((r) => templateRegExp(r.template).test(url)).map((r) => r.method);
          if (methods.length > 0 && !methods.includes(req.method ?? "")) {
            res.setHeader("Allow", methods.join(", "));
            error = {
              code: 405,
              type: "METHOD_NOT_ALLOWED",
              message: `${req.method} is not allowed here; use ${methods.join(", ")}`,
            };
          }
        }
        const response = toErrorResponse(error);
        const requestId = (req as IncomingMessage & { $ctx?: { requestID?: string } }).$ctx?.requestID;
        if (requestId) response.body.error.requestId = requestId;
        auditRefusal(this, req as GatewayRequest & { $alias?: MatchedAlias }, response.status, response.body.error);
        const retryAfter = (error as { data?: { retryAfterSeconds?: unknown } }).data?.retryAfterSeconds;
        if (response.status === 429 && typeof retryAfter === "number") res.setHeader("Retry-After", String(retryAfter));
        if (response.status === 401) res.setHeader("WWW-Authenticate", 'Bearer realm="stackyard"');
        sendJson(res, response.status, response.body);
      },
    },
    events: {
      [DEPLOYMENT_EVENTS_BROADCAST](ctx: Context<DeploymentEventsBroadcast>) {
        streams.publish(ctx.params.deploymentId, ctx.params.events, ctx.params.status);
      },
      [CREDENTIALS_REVOKED_EVENT](this: Service, ctx: Context<CredentialsRevoked>) {
        authenticator.forget(ctx.params);
        void Promise.all([streams.recheck(), logStreams.recheck(), execHub?.recheck() ?? 0]).then(
          ([a, b, c]) =>
            a + b + c > 0 && this.logger.info({ msg: "event streams ended by a revocation", streams: a + b + c }),
          (err: unknown) => this.logger.warn({ msg: "event stream recheck failed", err: String(err) }),
        );
      },
    },
    methods: {
      async authenticate(
        _ctx: Context,
        _route: unknown,
        req: IncomingMessage,
        _res: ServerResponse,
        alias: MatchedAlias,
      ) {
        if (!alias.action) return null;
        const op = operationOf(alias);
        const header = req.headers.authorization;
        const principal = await authenticator.authenticate(typeof header === "string" ? header : undefined);
        if (!principal && !op.isPublic) throw new UnauthorizedError("UNAUTHENTICATED", "authentication required");
        return principal;
      },
      /** The one authorization path: org of the URL, then the route's permission, then input validation. */
      async authorize(
        ctx: Context<unknown, CallMeta & { user?: unknown }>,
        _route: unknown,
        req: GatewayRequest,
        _res: ServerResponse,
        alias: MatchedAlias,
      ) {
        if (!alias.action) return;
        const op = operationOf(alias);
        const principal = (ctx.meta.user ?? null) as CallMeta["principal"];
        ctx.meta.principal = principal;
        delete ctx.meta.user;
        const params = req.$params;
        if (principal) {
          const orgId = params.params.orgId;
          // Another org's resources are reported as absent, never as forbidden.
          if (orgId !== undefined && orgId !== principal.orgId) throw new NotFoundError("ORG_NOT_FOUND", "no such org");
          if (op.permission && !principal.permissions.includes(op.permission)) {
            throw new ForbiddenError("PERMISSION_DENIED", `this needs the "${op.permission}" permission`, {
              missingPermission: op.permission,
            });
          }
        }
        if (op.operationId === "refresh" && params.body && typeof params.body === "object") {
          takeRefreshTokenFromCookie(req, params.body as Record<string, unknown>);
        }
        op.validate(params, req.headers);
        ctx.meta.$statusCode = op.successStatus;
      },
      readiness() {
        const transit = this.broker.transit;
        return checkReadiness({
          postgres: async () => {
            await db.raw("select 1");
          },
          nats: async () => {
            if (!transit) throw new Error("no transporter configured");
            if (!transit.connected) throw new Error("not connected");
            const client = (transit.tx as unknown as { client?: FlushableClient }).client;
            if (client) await client.flush();
          },
          pendingMigrations: () => pendingMigrations(db),
        });
      },
      /** The bound port, also when configured as 0 (tests). */
      listeningPort(): number {
        return (this as unknown as { server: { address(): AddressInfo } }).server.address().port;
      },
      /** Every REST route the gateway serves (for the spec ↔ routes contract test). */
      routeTable(): RouteOperation[] {
        return routeTable;
      },
    },
    created() {
      stopSseMetric = sseStreamsOpen.register(() => [{ labels: {}, value: streams.size + logStreams.size }]);
    },
    async stopped() {
      stopSseMetric?.();
      execHub?.close();
      const nc = logsNats;
      logsNats = null;
      await nc?.then((c) => c.close()).catch(() => undefined);
    },
    started() {
      const service = this as unknown as Service;
      const onError = (msg: string, err: unknown) => service.logger.warn({ msg, err: String(err) });
      const live = config.nats.wsUrl
        ? createLiveProxy({
            target: new URL(config.nats.wsUrl),
            ca: config.nats.tlsCaFile ? readFileSync(config.nats.tlsCaFile, "utf8") : undefined,
            maxConnections: config.http.liveMaxConnections,
            onError,
          })
        : null;
      execHub = new ExecSocketHub(natsForLogs, {
        pingMs: EXEC_PING_MS,
        transcript: { inputBytes: EXEC_TRANSCRIPT_INPUT_BYTES, outputBytes: EXEC_TRANSCRIPT_OUTPUT_BYTES },
        onError,
      });
      const exec = createExecUpgrade({
        routes: routeTable.filter((r) => r.stream === "websocket"),
        hub: execHub,
        authenticate: (authorization) => authenticator.authenticate(authorization),
        call: (op, params, principal, request) =>
          service.broker.call(op.action, params, { meta: { principal, request }, requestID: randomUUID() }),
        requestInfo,
        newSessionId: randomUUID,
        onRefused: (principal, op, status, error, request) =>
          auditRefused(service, principal, op, status, error, request),
        onError,
      });
      routeUpgrades((this as unknown as { server: Server }).server, (pathname): UpgradeHandler | null => {
        if (pathname === LIVE_PATH) return live?.handle ?? null;
        const op = exec.match(pathname);
        return op ? (req, socket, head) => exec.handle(op, req, socket, head) : null;
      });
      this.logger.info({ msg: "gateway listening", url: `http://${config.http.host}:${this.listeningPort()}` });
    },
  };
}
