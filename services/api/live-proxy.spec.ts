import { expect } from "chai";
import { createServer, request, type Server } from "node:http";
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from "node:net";
import { attachLiveProxy } from "./live-proxy.js";

const listen = (server: Server | TcpServer) =>
  new Promise<number>((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)),
  );

/** Opens an upgrade and resolves with the status and, on 101 or a pass-through, the raw socket. */
function upgrade(port: number, path = "/v1/live") {
  return new Promise<{ status: number; socket?: Socket }>((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, headers: { connection: "Upgrade", upgrade: "websocket" } });
    req.on("upgrade", (res, socket) => resolve({ status: res.statusCode ?? 0, socket }));
    req.on("response", (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0 });
    });
    req.on("error", reject);
    req.end();
  });
}

describe("the gateway's live proxy", () => {
  let gateway: Server;
  let upstream: TcpServer;
  const seen: string[] = [];
  const sockets: Socket[] = [];

  beforeEach(async () => {
    seen.length = 0;
    // A stand-in websocket listener: records the forwarded request and accepts it.
    upstream = createTcpServer((socket) => {
      sockets.push(socket);
      socket.once("data", (chunk) => {
        seen.push(chunk.toString("latin1"));
        socket.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
      });
    });
    const upstreamPort = await listen(upstream);
    gateway = createServer((_req, res) => res.end());
    attachLiveProxy(gateway, {
      path: "/v1/live",
      target: new URL(`ws://127.0.0.1:${upstreamPort}`),
      ca: undefined,
      maxConnections: 1,
      onError: () => undefined,
    });
    await listen(gateway);
  });
  afterEach(async () => {
    sockets.splice(0).forEach((s) => s.destroy());
    gateway.closeAllConnections();
    await new Promise((r) => gateway.close(r));
    await new Promise((r) => upstream.close(r));
  });

  it("forwards the upgrade with the listener's own Host, and caps connections at the limit (429)", async () => {
    const port = (gateway.address() as AddressInfo).port;
    const first = await upgrade(port);
    expect(first.status).to.equal(101);
    expect(seen[0]).to.match(/^GET \/ HTTP\/1\.1\r\n/);
    expect(seen[0]).to.match(new RegExp(`\r\nHost: 127\\.0\\.0\\.1:${(upstream.address() as AddressInfo).port}\r\n`));
    expect((await upgrade(port)).status).to.equal(429);
    first.socket?.destroy();
    await new Promise((r) => setTimeout(r, 50));
    expect((await upgrade(port)).status, "a closed connection frees its slot").to.equal(101);
  });

  it("answers 502 when the NATS websocket listener is down", async () => {
    await new Promise((r) => upstream.close(r));
    const port = (gateway.address() as AddressInfo).port;
    expect((await upgrade(port)).status).to.equal(502);
    upstream = createTcpServer();
    await listen(upstream);
  });
});
