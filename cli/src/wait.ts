/**
 * `--wait`: follows a deployment's event stream to its end (web/src/api/deployment-events.ts: replay, then live,
 * resumed with Last-Event-ID after a dropped connection), prints each line as it arrives, and turns the outcome
 * into the exit code. On a terminal, a status line on stderr shows the deployment's state and elapsed time.
 */
import { followDeploymentEvents, type DeploymentEnd } from "../../web/src/api/deployment-events.js";
import { keys } from "../../web/src/api/keys.js";
import type { Deployment, DeploymentEvent } from "../../web/src/api/types.js";
import { EXIT, type ExitCode } from "./exit-codes.js";
import { paint, type Colour } from "./output.js";
import type { Session } from "./session.js";

const LEVEL_COLOUR: Record<DeploymentEvent["level"], Colour> = {
  debug: "gray",
  info: "blue",
  warn: "yellow",
  error: "red",
};

export const OUTCOME_EXIT: Record<string, ExitCode> = {
  SUCCEEDED: EXIT.OK,
  FAILED: EXIT.DEPLOYMENT_FAILED,
  CANCELED: EXIT.DEPLOYMENT_CANCELED,
  // Rejected at its approval: like a cancel, it never ran.
  REJECTED: EXIT.DEPLOYMENT_CANCELED,
};

/** `90`, `90s`, `15m`, `1h` → milliseconds; null when not a duration. */
export function parseDuration(value: string): number | null {
  const m = /^(\d+)(ms|s|m|h)?$/.exec(value.trim());
  if (!m) return null;
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? "s") as "ms" | "s" | "m" | "h"];
  return Number(m[1]) * factor;
}

export async function waitForDeployment(
  session: Session,
  deployment: Deployment,
  timeoutMs: number | null,
): Promise<ExitCode> {
  const t = session.term;
  const json = session.format !== "table";
  const started = Date.now();
  const controller = new AbortController();
  const timer = timeoutMs !== null ? setTimeout(() => controller.abort(), timeoutMs) : undefined;
  let state = deployment.status as string;
  let statusLine = false;
  const clearStatus = () => {
    if (statusLine) t.err("\r\u001b[K");
    statusLine = false;
  };
  const drawStatus = () => {
    if (!t.interactive || json) return;
    const secs = Math.round((Date.now() - started) / 1000);
    t.err(`\r\u001b[K${paint(t, "bold", state)} ${deployment.id.slice(0, 8)} ${secs}s`);
    statusLine = true;
  };
  const ticker = t.interactive && !json ? setInterval(drawStatus, 1000) : undefined;
  let end: DeploymentEnd | null = null;
  try {
    await followDeploymentEvents(
      session.client,
      deployment.id,
      {
        onEvent(event) {
          clearStatus();
          const status = event.data?.status;
          if (typeof status === "string") state = status;
          else if (state === "PENDING" && event.seq > 0) state = "RUNNING";
          if (json) t.out(JSON.stringify({ event }) + "\n");
          else
            t.out(
              `${paint(t, "gray", event.ts.slice(11, 19))} ${paint(t, LEVEL_COLOUR[event.level], event.level.padEnd(5))} ${event.message}\n`,
            );
          drawStatus();
        },
        onEnd(e) {
          end = e;
        },
        onState(s, error) {
          if (s === "reconnecting" && !json) {
            clearStatus();
            t.err(
              paint(
                t,
                "yellow",
                `stream interrupted (${error instanceof Error ? error.message : "closed"}); resuming…`,
              ) + "\n",
            );
          }
        },
      },
      { signal: controller.signal },
    );
  } finally {
    clearTimeout(timer);
    clearInterval(ticker);
    clearStatus();
  }
  const final = await session.client.get<Deployment>(keys.deployment(deployment.id)[0]);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (json) t.out(JSON.stringify({ deployment: final }) + "\n");
  if (!end && (final.status === "AWAITING_APPROVAL" || final.status === "PENDING" || final.status === "RUNNING")) {
    t.err(
      `deployment ${final.id} is still ${final.status} after ${seconds}s; it goes on (stackyard deployments get ${final.id})\n`,
    );
    return EXIT.WAIT_TIMED_OUT;
  }
  const code = OUTCOME_EXIT[final.status] ?? EXIT.API_UNAVAILABLE;
  const colour: Colour = code === EXIT.OK ? "green" : code === EXIT.DEPLOYMENT_CANCELED ? "yellow" : "red";
  const why = final.errorMessage ? `: ${final.errorMessage}` : "";
  t.err(`${paint(t, colour, `deployment ${final.id} ${final.status}`)} after ${seconds}s${why}\n`);
  return code;
}
