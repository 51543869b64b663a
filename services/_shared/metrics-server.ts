/**
 * The process's Prometheus endpoint, `GET /metrics` on its own listener (METRICS_LISTEN), apart from the public
 * gateway: every process exports its own metrics, whichever services it runs, and the listener can stay on
 * loopback or a private interface. Off loopback it needs METRICS_TOKEN as a bearer token (config.ts).
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { MetricsListen } from "./config.js";
import { metricsRegistry } from "./metrics.js";

export interface MetricsServer {
  /** The bound port (also when configured as 0). */
  port: number;
  close(): Promise<void>;
}

// Compared as digests so the comparison takes the same time whatever the presented token's length.
const digest = (value: string): Buffer => createHash("sha256").update(value).digest();

function bearerMatches(header: string | undefined, token: string): boolean {
  const presented = /^Bearer (.+)$/.exec(header ?? "")?.[1];
  return presented !== undefined && timingSafeEqual(digest(presented), digest(token));
}

export async function startMetricsServer(listen: MetricsListen): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "").split("?")[0];
    if (path !== "/metrics") {
      res.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" }).end("not found: the only path is /metrics\n");
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { Allow: "GET, HEAD", "Content-Type": "text/plain; charset=utf-8" }).end("use GET\n");
      return;
    }
    if (listen.token !== undefined && !bearerMatches(req.headers.authorization, listen.token)) {
      res
        .writeHead(401, { "WWW-Authenticate": 'Bearer realm="stackyard-metrics"', "Content-Type": "text/plain" })
        .end("a bearer token (METRICS_TOKEN) is required\n");
      return;
    }
    metricsRegistry.metrics().then(
      (body) => {
        res.writeHead(200, { "Content-Type": metricsRegistry.contentType, "Cache-Control": "no-store" });
        res.end(req.method === "HEAD" ? undefined : body);
      },
      () => res.writeHead(503, { "Content-Type": "text/plain" }).end("metrics could not be collected\n"),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port, listen.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
