/**
 * The gateway's request-duration histogram. Requests are labelled with their route *template* from openapi.yaml
 * (`/v1/environments/{envId}`), never the raw URL, so the series stay bounded whatever ids or junk clients send.
 * Event streams (SSE) are left out: they last as long as a deployment and are counted by stackyard_sse_streams_open.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { httpRequestDuration } from "../_shared/metrics.js";
import { templateRegExp } from "../_shared/openapi.js";
import type { RouteOperation } from "./routes.js";

/** Paths the gateway answers itself, outside openapi.yaml's operations. */
const GATEWAY_PATHS = new Set(["/healthz", "/readyz", "/openapi.yaml"]);

export type RouteLabeller = (method: string, url: string) => string | null;

/** The route label of a request; null for the requests not measured (event streams). */
export function routeLabeller(routes: readonly RouteOperation[]): RouteLabeller {
  const matchers = routes.map((r) => ({
    method: r.method,
    template: r.template,
    stream: r.stream,
    re: templateRegExp(r.template),
  }));
  return (method, url) => {
    const path = url.split("?")[0] ?? "";
    if (GATEWAY_PATHS.has(path)) return path;
    const candidates = matchers.filter((m) => m.re.test(path));
    const hit = candidates.find((m) => m.method === method);
    if (hit) return hit.stream ? null : hit.template;
    if (candidates.length > 0) return candidates[0]!.template; // a known path with another method (405)
    return path.startsWith("/v1/") || path === "/v1" ? "(unmatched)" : "(ui)";
  };
}

/** A connect-style middleware, first in the gateway's chain, that observes each response once it is sent. */
export function httpMetricsMiddleware(label: RouteLabeller) {
  return (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    const started = process.hrtime.bigint();
    res.once("finish", () => {
      const route = label(req.method ?? "GET", req.url ?? "/");
      if (route === null) return;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      httpRequestDuration.observe({ method: req.method ?? "GET", route, status: String(res.statusCode) }, seconds);
    });
    next();
  };
}
