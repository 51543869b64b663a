/**
 * The gateway's `/v1/live`: a byte-for-byte WebSocket proxy to the NATS websocket listener, so a browser reaches
 * NATS on the UI's own origin (CSP `connect-src 'self'`, the installation's public certificate, no second port to
 * publish) while NATS itself authenticates the connection with the live credential's JWT and nonce signature. The
 * gateway only checks that the upgrade comes from its own origin (no other site may open it in a user's browser)
 * and caps how many it carries.
 */
import type { IncomingMessage, Server } from "node:http";
import { connect as connectTcp, isIP, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { connect as connectTls } from "node:tls";

export interface LiveProxyOptions {
  path: string;
  /** The NATS websocket listener: `wss://host:port` (verified with `ca`) or `ws://host:port`. */
  target: URL;
  ca: string | undefined;
  maxConnections: number;
  onError(message: string, err: unknown): void;
}

function refuse(socket: Duplex, status: number, reason: string): void {
  const body = JSON.stringify({ code: reason, message: reason.toLowerCase().replace(/_/g, " ") });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** The browser's Origin must be this gateway's own host (as the browser reached it). */
export function isSameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true; // not a browser: NATS authentication is all that applies
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

/** The upgrade request as NATS should see it: same headers, its own Host. */
function upstreamRequest(req: IncomingMessage, target: URL): string {
  const lines = [`GET / HTTP/1.1`];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!;
    if (name.toLowerCase() === "host") continue;
    lines.push(`${name}: ${req.rawHeaders[i + 1]}`);
  }
  lines.push(`Host: ${target.host}`);
  return `${lines.join("\r\n")}\r\n\r\n`;
}

export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/**
 * The gateway's one `upgrade` listener: each path goes to the first route that takes it, anything else is a 404
 * (two listeners would both answer one socket).
 */
export function routeUpgrades(server: Server, route: (pathname: string) => UpgradeHandler | null): void {
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const pathname = new URL(req.url ?? "/", "http://gateway").pathname;
    const handler = route(pathname);
    if (!handler) return refuse(socket, 404, "NOT_FOUND");
    handler(req, socket, head);
  });
}

export function attachLiveProxy(server: Server, options: LiveProxyOptions): { connections(): number } {
  const proxy = createLiveProxy(options);
  routeUpgrades(server, (pathname) => (pathname === options.path ? proxy.handle : null));
  return proxy;
}

/** The `/v1/live` proxy for one upgrade at a time (`handle`), and how many it carries. */
export function createLiveProxy(options: Omit<LiveProxyOptions, "path">): {
  handle: UpgradeHandler;
  connections(): number;
} {
  let open = 0;
  const handle: UpgradeHandler = (req, socket, head) => {
    if (!isSameOrigin(req)) return refuse(socket, 403, "FOREIGN_ORIGIN");
    if (open >= options.maxConnections) return refuse(socket, 429, "TOO_MANY_LIVE_CONNECTIONS");
    open++;
    const port = Number(options.target.port) || (options.target.protocol === "wss:" ? 443 : 80);
    const host = options.target.hostname;
    const upstream: Socket =
      options.target.protocol === "wss:"
        ? connectTls({
            host,
            port,
            ...(isIP(host) ? {} : { servername: host }),
            ...(options.ca ? { ca: options.ca } : {}),
          })
        : connectTcp({ host, port });
    let connected = false;
    upstream.once(options.target.protocol === "wss:" ? "secureConnect" : "connect", () => {
      connected = true;
      upstream.write(upstreamRequest(req, options.target));
      if (head.length > 0) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      open--;
      upstream.destroy();
      socket.destroy();
    };
    upstream.on("error", (err) => {
      options.onError("live proxy: NATS websocket listener", err);
      if (!connected) {
        closed = true;
        open--;
        return refuse(socket, 502, "LIVE_UPSTREAM_UNAVAILABLE");
      }
      close();
    });
    socket.on("error", close);
    upstream.on("close", close);
    socket.on("close", close);
  };
  return { handle, connections: () => open };
}
