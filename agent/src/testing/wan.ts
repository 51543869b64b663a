/**
 * A test stand-in for the WAN between a customer site and the hub: a TCP relay the leaf dials instead of the hub's
 * leafnode listener. `cut()` drops every relayed connection and refuses new ones (the hub is unreachable, as when
 * the site's uplink fails), `restore()` lets them through again. TLS passes through untouched.
 */
import { createServer, connect, type Socket } from "node:net";

export interface WanLink {
  port: number;
  /** Where the relay forwards to; set once the hub's port is known (the hub advertises the relay). */
  setTarget(host: string, port: number): void;
  cut(): void;
  restore(): void;
  /** Connections accepted while the link was up. */
  relayed(): number;
  close(): Promise<void>;
}

export async function startWanLink(): Promise<WanLink> {
  let up = true;
  let targetHost = "127.0.0.1";
  let targetPort = 0;
  let relayed = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    if (!up || targetPort === 0) {
      client.destroy();
      return;
    }
    relayed++;
    const upstream = connect({ host: targetHost, port: targetPort });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => undefined);
    }
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("close", end);
    upstream.on("close", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("the WAN relay has no port");
  return {
    port: address.port,
    setTarget: (host, port) => {
      targetHost = host;
      targetPort = port;
    },
    cut: () => {
      up = false;
      for (const s of sockets) s.destroy();
    },
    restore: () => {
      up = true;
    },
    relayed: () => relayed,
    close: async () => {
      up = false;
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
