/**
 * N SSE clients in a process of their own (so their parsing never counts against the gateway): each opens
 * `GET /v1/deployments/{id}/events` on the gateway, round-robin over the deployments it is given, and measures for
 * every event the time since the emitter stamped it (`t=<epoch ms>` in the message; same machine, same clock).
 * Driven over IPC: `open`, `round` (start a new latency sample), `report` (summary of the round), `exit`.
 */
import { request, Agent } from "node:http";
import { summarize } from "../stats.js";

export type SseCommand =
  | { cmd: "open"; count: number; deploymentIds: string[]; concurrency: number; authorization: string }
  | { cmd: "round" }
  | { cmd: "report" }
  | { cmd: "exit" };

export type SseReport =
  | { event: "opened"; open: number; failed: number; ms: number; lastError: string }
  | { event: "round"; received: number; summary: Record<string, number>; open: number }
  | { event: "error"; message: string };

const BASE = new URL(process.env.SSE_BASE_URL ?? "");
let authorization = "";
const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
const send = (r: SseReport): void => void process.send!(r);
const now = (): number => performance.timeOrigin + performance.now();

let latencies: number[] = [];
let open = 0;
const STAMP = /t=(\d+(?:\.\d+)?)/;

function openOne(deploymentId: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: BASE.hostname,
        port: BASE.port,
        path: `/v1/deployments/${deploymentId}/events`,
        headers: { authorization, accept: "text/event-stream" },
        agent,
      },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`status ${res.statusCode}`));
          return;
        }
        res.setEncoding("utf8");
        let buffer = "";
        let opened = false;
        res.on("data", (chunk: string) => {
          buffer += chunk;
          let cut: number;
          while ((cut = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            if (!opened && block.startsWith(": stream open")) {
              opened = true;
              open++;
              resolve();
              continue;
            }
            const stamp = STAMP.exec(block);
            if (stamp) latencies.push(now() - Number(stamp[1]));
          }
        });
        res.on("close", () => {
          if (opened) open--;
        });
      },
    );
    req.on("error", reject);
    req.end();
  });
}

process.on("message", (message: SseCommand) => {
  void (async () => {
    if (message.cmd === "open") {
      authorization = message.authorization;
      const started = performance.now();
      let next = 0;
      let failed = 0;
      let lastError = "";
      await Promise.all(
        Array.from({ length: message.concurrency }, async () => {
          while (next < message.count) {
            const i = next++;
            await openOne(message.deploymentIds[i % message.deploymentIds.length]!).catch((err: unknown) => {
              failed++;
              lastError = String(err);
            });
          }
        }),
      );
      send({ event: "opened", open, failed, ms: performance.now() - started, lastError });
    } else if (message.cmd === "round") {
      latencies = [];
    } else if (message.cmd === "report") {
      send({ event: "round", received: latencies.length, summary: summarize(latencies), open });
    } else if (message.cmd === "exit") {
      process.exit(0);
    }
  })().catch((err: unknown) => send({ event: "error", message: String(err) }));
});
process.on("disconnect", () => process.exit(0));
