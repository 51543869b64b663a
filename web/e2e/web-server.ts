/**
 * Serves a built UI the way the gateway is meant to in production: API paths go to the control plane, files come
 * from the build, and every other GET answers index.html so client-side routes survive a reload.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createServer, request, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize, sep } from "node:path";

export const API_PREFIXES = ["/v1/", "/healthz", "/readyz", "/openapi.yaml"];

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
};

export interface WebServer {
  url: string;
  close(): Promise<void>;
}

export async function startWebServer(options: { distDir: string; apiBaseUrl: string }): Promise<WebServer> {
  const api = new URL(options.apiBaseUrl);
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    if (API_PREFIXES.some((p) => path === p.replace(/\/$/, "") || path.startsWith(p))) {
      proxy(req, res, api);
      return;
    }
    void serveFile(options.distDir, path, req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}

function proxy(req: IncomingMessage, res: ServerResponse, api: URL): void {
  const upstream = request(
    {
      host: api.hostname,
      port: api.port,
      method: req.method,
      path: req.url,
      headers: { ...req.headers, host: api.host },
    },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on("error", () => {
    if (!res.headersSent) res.writeHead(502, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: { code: "BAD_GATEWAY", message: "control plane unreachable" } }));
  });
  req.pipe(upstream);
}

async function serveFile(distDir: string, path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405).end();
    return;
  }
  const root = normalize(distDir + sep);
  let file = normalize(join(root, decodeURIComponent(path)));
  if (!file.startsWith(root)) {
    res.writeHead(404).end();
    return;
  }
  const found = await stat(file).catch(() => null);
  // Asset paths that do not exist are real 404s; anything else is a client-side route.
  if (!found?.isFile()) {
    if (path.startsWith("/assets/")) {
      res.writeHead(404).end();
      return;
    }
    file = join(root, "index.html");
  }
  const immutable = path.startsWith("/assets/");
  res.writeHead(200, {
    "content-type": TYPES[extname(file)] ?? "application/octet-stream",
    "cache-control": immutable ? "public, max-age=31536000, immutable" : "no-cache",
  });
  if (req.method === "HEAD") res.end();
  else createReadStream(file).pipe(res);
}
