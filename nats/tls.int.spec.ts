import { expect } from "chai";
import { connect, credsAuthenticator } from "nats";
import { readFile } from "node:fs/promises";
import { createConnection } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { renderServerConfig } from "./identity.js";
import { startTestNatsServer, type TestNatsServer } from "../services/_shared/testing/nats-server.js";

/** Speaks raw NATS in plaintext: reads INFO, sends CONNECT + PING, collects what the server says until it closes. */
function plaintextSession(port: number): Promise<{ info: Record<string, unknown>; said: string }> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    let buffer = "";
    let info: Record<string, unknown> | null = null;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept the plaintext connection open: ${buffer}`));
    }, 5_000);
    socket.on("data", (chunk) => {
      buffer += chunk.toString("latin1");
      if (!info && buffer.includes("\r\n")) {
        info = JSON.parse(buffer.slice(buffer.indexOf("{"), buffer.indexOf("\r\n"))) as Record<string, unknown>;
        socket.write('CONNECT {"verbose":false,"pedantic":false,"protocol":1}\r\nPING\r\n');
      }
    });
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve({ info: info ?? {}, said: buffer });
    });
  });
}

describe("NATS TLS on every listener (real nats-server from our template)", function () {
  this.timeout(30_000);
  let server: TestNatsServer;
  let ports: { client: number; leafnode: number; websocket: number; monitor: number };

  before(async () => {
    server = await startTestNatsServer();
    const conf = await readFile(`${server.dir}/server.conf`, "utf8");
    const port = (re: RegExp) => Number(re.exec(conf)?.[1]);
    ports = {
      client: Number(new URL(server.url).port),
      leafnode: Number(new URL(server.leafUrl).port),
      websocket: port(/websocket: \{[^}]*?port: (\d+)/s),
      monitor: Number(new URL(server.monitorUrl).port),
    };
  });
  after(() => server?.stop());

  it("refuses a plaintext client on the client port before it can authenticate", async () => {
    const { info, said } = await plaintextSession(ports.client);
    // The server waits for a TLS handshake: plaintext CONNECT bytes end the connection, never a PONG.
    expect(info.tls_required).to.equal(true);
    expect(said).to.not.match(/PONG|\+OK/);
  });

  it("requires TLS on the leafnode port too", async () => {
    const { info, said } = await plaintextSession(ports.leafnode);
    expect(info.tls_required).to.equal(true);
    expect(said).to.not.match(/PONG/);
  });

  it("serves websocket over TLS only", async () => {
    const plain = await fetch(`http://127.0.0.1:${ports.websocket}/`).then(
      (r) => r.status,
      () => "refused",
    );
    expect(plain).to.not.equal(101);
    expect(plain).to.not.equal(200);
    const ca = await readFile(server.caFile);
    const authorized = await new Promise<boolean>((resolve, reject) => {
      const s = tlsConnect({ host: "127.0.0.1", port: ports.websocket, ca }, () => {
        resolve(s.authorized);
        s.destroy();
      });
      s.on("error", reject);
    });
    expect(authorized).to.equal(true);
  });

  it("presents a certificate for 127.0.0.1 and localhost, signed by the state dir's CA", async () => {
    for (const host of ["127.0.0.1", "localhost"]) {
      const nc = await connect({
        servers: `tls://${host}:${ports.client}`,
        tls: server.tls,
        authenticator: credsAuthenticator(await readFile(server.controlPlaneCredsFile)),
        reconnect: false,
        timeout: 3_000,
      });
      expect(nc.info?.tls_required).to.equal(true);
      await nc.close();
    }
    let error: unknown;
    try {
      // Without the CA: the system trust store does not know ours.
      await connect({ servers: server.url, tls: {}, reconnect: false, timeout: 3_000 });
    } catch (err) {
      error = err;
    }
    expect(String((error as Error)?.message ?? error)).to.match(/certificate/i);
  });

  it("binds the unauthenticated monitoring listener to loopback whatever host the others use", async () => {
    expect((await fetch(`${server.monitorUrl}/healthz`)).status).to.equal(200);
    const conf = await renderServerConfig(server.identity, {
      serverName: "s",
      host: "0.0.0.0",
      ports: { client: 1, websocket: 2, leafnode: 3, monitor: 4 },
      resolverDir: "/r",
      jetstreamDir: "/j",
      tls: { certFile: "/c.pem", keyFile: "/k.pem" },
    });
    expect(conf).to.match(/^http: "127\.0\.0\.1:4"$/m);
    expect(conf).to.not.match(/no_tls/);
    expect(conf.match(/cert_file: "\/c\.pem"/g)).to.have.length(3);
  });
});
