import { expect } from "chai";
import { createLogger } from "./logger.js";
import { AgentError } from "./errors.js";
import { insecureNatsUrls, linkConnectionOptions, linkTlsOptions, openLink, reconnectDelay } from "./link.js";
import { createBackoff } from "./schedule.js";

/** Replays nats.js's dial loop (protocol.ts dodialLoop) against a failing server, on a fake clock. */
function dialTimes(handler: () => number, clock: { t: number }, attempts: number): number[] {
  const dials: number[] = [];
  let lastConnect = 0;
  for (let guard = 0; dials.length < attempts && guard < 10_000; guard++) {
    const wait = handler();
    if (lastConnect === 0 || lastConnect + wait <= clock.t) {
      lastConnect = clock.t;
      dials.push(clock.t);
      clock.t += 5; // the refused dial itself
    } else {
      clock.t += Math.min(wait, lastConnect + wait - clock.t);
    }
  }
  return dials;
}

describe("agent link options", () => {
  it("spaces reconnect attempts by growing backoff steps, however often nats.js asks", () => {
    const clock = { t: 1_000 };
    const delay = reconnectDelay(createBackoff({ initialMs: 500, maxMs: 30_000, random: () => 1 }), () => clock.t);
    const dials = dialTimes(delay.handler, clock, 10);
    const gaps = dials.slice(1).map((d, i) => d - dials[i]!);
    expect(gaps.slice(0, 6)).to.deep.equal([1000, 2000, 4000, 8000, 16000, 30000]);
    expect(Math.max(...gaps)).to.be.at.most(30_000);
    delay.reset();
    const again = dialTimes(delay.handler, clock, 2);
    expect(again[1]! - again[0]!).to.be.at.most(1_010);
  });

  it("connects with a per-cluster inbox, its name, JWT auth and unlimited reconnects", () => {
    const delay = reconnectDelay(createBackoff({ initialMs: 500, maxMs: 30_000 }));
    const opts = linkConnectionOptions(
      {
        servers: ["nats://127.0.0.1:4222"],
        clusterId: "c1",
        auth: { jwt: () => "jwt", seed: new Uint8Array() },
        ca: null,
        log: createLogger({ level: "error", write: () => undefined }),
      },
      delay,
    );
    expect(opts).to.deep.include({
      name: "agent-c1",
      inboxPrefix: "_INBOX_c1",
      maxReconnectAttempts: -1,
      waitOnFirstConnect: true,
    });
    expect(opts.authenticator).to.be.a("function");
    const anonymous = linkConnectionOptions(
      {
        servers: ["nats://127.0.0.1:4222"],
        clusterId: "c1",
        auth: null,
        ca: null,
        log: createLogger({ level: "error" }),
      },
      delay,
    );
    expect(anonymous.authenticator).to.equal(undefined);
  });

  it("refuses nats:// to a non-loopback host before dialing, and allows it on loopback only", async () => {
    let dialed = false;
    let error: unknown;
    try {
      await openLink({
        servers: ["nats://10.0.0.1:4222"],
        clusterId: "c1",
        auth: null,
        ca: null,
        log: createLogger({ level: "error", write: () => undefined }),
        connectFn: async () => {
          dialed = true;
          throw new Error("must not dial");
        },
      });
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(AgentError);
    expect((error as AgentError).code).to.equal("NATS_URL_INSECURE");
    expect((error as AgentError).message).to.match(/nats:\/\/10\.0\.0\.1:4222.*tls:\/\//);
    expect(dialed).to.equal(false);
    expect(insecureNatsUrls(["nats://127.0.0.1:4222", "nats://localhost:4222", "nats://[::1]:4222"])).to.deep.equal([]);
    expect(insecureNatsUrls(["nats://nats:4222", "ws://10.1.1.1", "nats://user:pw@example.com:4222"])).to.have.length(
      3,
    );
  });

  it("asks for TLS whenever a URL is tls:// or wss://, trusting only the pinned CA", () => {
    expect(linkTlsOptions(["tls://nats.example.com:4222"], "PEM")).to.deep.equal({ ca: "PEM" });
    expect(linkTlsOptions(["tls://nats.example.com:4222"], null)).to.deep.equal({});
    expect(linkTlsOptions(["nats://127.0.0.1:4222"], "PEM")).to.equal(undefined);
  });
});
