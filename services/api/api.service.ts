/**
 * The REST gateway: a routing table, error mapping and the process-level health endpoints — nothing else.
 * Business logic lives behind the actions it routes to.
 */
import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { ServiceSchema } from "moleculer";
import ApiGateway, { type ApiSettingsSchema } from "moleculer-web";
import type { Config } from "../_shared/config.js";
import { pendingMigrations, type Db } from "../_shared/db.js";
import { toErrorResponse } from "../_shared/errors.js";
import { OPENAPI_FILE } from "../_shared/paths.js";
import { checkReadiness } from "./readiness.js";

export interface ApiServiceDeps {
  config: Config;
  db: Db;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store" });
  res.end(payload);
}

/** Narrow view of the NATS connection inside moleculer's transporter, used only to ping the server. */
interface FlushableClient {
  flush(): Promise<void>;
}

export function createApiService({ config, db }: ApiServiceDeps): ServiceSchema<ApiSettingsSchema> {
  const openapiYaml = readFileSync(OPENAPI_FILE, "utf8");

  return {
    name: "api",
    mixins: [ApiGateway],
    settings: {
      ip: config.http.host,
      port: config.http.port,
      log4XXResponses: false,
      logRequest: "debug",
      logResponseData: null,
      routes: [
        {
          path: "/",
          mappingPolicy: "restrict",
          bodyParsers: false,
          aliases: {
            "GET healthz"(this: { broker: { nodeID: string } }, _req: IncomingMessage, res: ServerResponse) {
              sendJson(res, 200, { status: "ok", node: this.broker.nodeID });
            },
            async "GET readyz"(
              this: { readiness(): ReturnType<typeof checkReadiness> },
              _req: IncomingMessage,
              res: ServerResponse,
            ) {
              const readiness = await this.readiness();
              sendJson(res, readiness.ready ? 200 : 503, {
                status: readiness.ready ? "ready" : "not_ready",
                ...readiness,
              });
            },
            "GET openapi.yaml"(_req: IncomingMessage, res: ServerResponse) {
              res.writeHead(200, { "Content-Type": "application/yaml; charset=utf-8" });
              res.end(openapiYaml);
            },
          },
        },
      ],
      onError(_req: IncomingMessage, res: ServerResponse, err: Error) {
        const { status, body } = toErrorResponse(err);
        sendJson(res, status, body);
      },
    },
    methods: {
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
    },
    started() {
      this.logger.info({ msg: "gateway listening", url: `http://${config.http.host}:${this.listeningPort()}` });
    },
  };
}
