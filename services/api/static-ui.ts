/**
 * Serves the built web UI from the gateway: files from the build folder, long-cached hashed assets, and
 * index.html for every other GET so client-side routes survive a reload. API paths are never touched here.
 */
import { createReadStream, existsSync } from "node:fs";
import { stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, join, normalize, sep } from "node:path";

const API_PREFIXES = ["/v1/", "/v1", "/healthz", "/readyz", "/openapi.yaml"];

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".woff2": "font/woff2",
};

type Next = (err?: unknown) => void;

/**
 * The UI is a same-origin bundle with no inline script or style: the policy allows nothing else, and no site may
 * frame it (clickjacking). The API it talks to (fetch, SSE) is the same origin.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

export function securityHeaders(opts: { https: boolean }): Record<string, string> {
  return {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    ...(opts.https ? { "strict-transport-security": "max-age=31536000; includeSubDomains" } : {}),
  };
}

export function isApiPath(path: string): boolean {
  // Anything under an API path is the API's (a 404 in the error shape there), never the UI's index.html.
  return API_PREFIXES.some((p) => path === p || path.startsWith(p.endsWith("/") ? p : `${p}/`));
}

/**
 * Null when the folder holds no build (the gateway then serves the API only). `https`: the UI's public URL is
 * https, so browsers are told to use nothing else (HSTS).
 */
export function createStaticUiMiddleware(distDir: string, opts: { https: boolean } = { https: false }) {
  const headers = securityHeaders(opts);
  const root = normalize(distDir + sep);
  if (!existsSync(join(root, "index.html"))) return null;
  return function staticUi(req: IncomingMessage, res: ServerResponse, next: Next): void {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    if ((req.method !== "GET" && req.method !== "HEAD") || isApiPath(path)) return next();
    void (async () => {
      let file = normalize(join(root, decodeURIComponent(path)));
      if (!file.startsWith(root)) {
        res.writeHead(404).end();
        return;
      }
      const isFile = await stat(file).then(
        (s) => s.isFile(),
        () => false,
      );
      if (!isFile) {
        // A missing hashed asset is a real 404; anything else is a client route.
        if (path.startsWith("/assets/")) {
          res.writeHead(404, { "content-type": "text/plain" }).end("not found");
          return;
        }
        file = join(root, "index.html");
      }
      const immutable = path.startsWith("/assets/") && file !== join(root, "index.html");
      res.writeHead(200, {
        "content-type": TYPES[extname(file)] ?? "application/octet-stream",
        "cache-control": immutable ? "public, max-age=31536000, immutable" : "no-cache",
        ...headers,
      });
      if (req.method === "HEAD") res.end();
      else createReadStream(file).pipe(res);
    })().catch(next);
  };
}
