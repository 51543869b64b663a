/**
 * Following a deployment's event stream to its end: the stored events are replayed in seq order, then live ones
 * follow. A dropped connection is resumed with `Last-Event-ID` (the last seq seen), so no event is shown twice or
 * lost; the stream is over only at its `end` message.
 */
import { ApiError, type ApiClient } from "./client.js";
import { actions } from "./keys.js";
import type { DeploymentEvent, DeploymentStatus } from "./types.js";

export interface DeploymentEnd {
  id: string;
  status: DeploymentStatus | "UNKNOWN";
}

export type StreamState = "connecting" | "live" | "reconnecting";

export interface FollowHandlers {
  onEvent: (event: DeploymentEvent) => void;
  onEnd: (end: DeploymentEnd) => void;
  /** Connection changes; `error` says why the stream is being reconnected. */
  onState?: (state: StreamState, error?: unknown) => void;
}

export interface FollowOptions {
  signal: AbortSignal;
  /** Resume after this seq (events up to it were seen already); null replays from the first. */
  afterSeq?: number | null;
  /** Wait before reconnect number `attempt` (1, 2, …). */
  retryDelayMs?: (attempt: number) => number;
  /** The stream's path; a deployment's by default (a build's output streams the same way). */
  path?: string;
}

const MAX_RETRY_DELAY_MS = 15_000;
export const defaultRetryDelay = (attempt: number): number => Math.min(MAX_RETRY_DELAY_MS, 500 * 2 ** (attempt - 1));

/** 4xx answers (unknown deployment, missing permission, ended session) do not get better by asking again. */
const isPermanent = (e: unknown): boolean => e instanceof ApiError && e.status >= 400 && e.status < 500;

export class StreamProtocolError extends Error {
  override readonly name = "StreamProtocolError";
  readonly code = "INVALID_EVENT_STREAM";
}

function parseEvent(data: string): DeploymentEvent {
  const value = JSON.parse(data) as unknown;
  if (
    !value ||
    typeof value !== "object" ||
    !("seq" in value) ||
    typeof value.seq !== "number" ||
    !("message" in value) ||
    typeof value.message !== "string"
  ) {
    throw new StreamProtocolError(`not a deployment event: ${data.slice(0, 200)}`);
  }
  return value as DeploymentEvent;
}

function parseEnd(data: string): DeploymentEnd {
  const value = JSON.parse(data) as unknown;
  if (!value || typeof value !== "object" || !("id" in value) || !("status" in value)) {
    throw new StreamProtocolError(`not an end message: ${data.slice(0, 200)}`);
  }
  return { id: String(value.id), status: String(value.status) as DeploymentEnd["status"] };
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });

/**
 * Resolves after the `end` message (or when `signal` aborts); rejects on a permanent error (404, 403, 401, or a
 * malformed stream). Network failures and server errors are retried for as long as the caller keeps listening.
 */
export async function followDeploymentEvents(
  client: ApiClient,
  deploymentId: string,
  handlers: FollowHandlers,
  options: FollowOptions,
): Promise<void> {
  const { signal } = options;
  const retryDelay = options.retryDelayMs ?? defaultRetryDelay;
  let lastSeq = options.afterSeq ?? null;
  let attempt = 0;
  while (!signal.aborted) {
    if (attempt === 0) handlers.onState?.("connecting");
    let failure: unknown = null;
    try {
      const messages = client.stream(options.path ?? actions.deploymentEvents(deploymentId), {
        signal,
        ...(lastSeq !== null ? { headers: { "last-event-id": String(lastSeq) } } : {}),
      });
      let announced = false;
      for await (const message of messages) {
        if (!announced) {
          announced = true;
          attempt = 0;
          handlers.onState?.("live");
        }
        if (message.event === "deployment-event") {
          const event = parseEvent(message.data);
          // A resumed stream starts after lastSeq; the check also guards against a server that repeats itself.
          if (lastSeq !== null && event.seq <= lastSeq) continue;
          lastSeq = event.seq;
          handlers.onEvent(event);
        } else if (message.event === "end") {
          handlers.onEnd(parseEnd(message.data));
          return;
        }
      }
      // The server closed without `end` (a restart, a proxy timeout): resume where it stopped.
    } catch (e) {
      if (signal.aborted) return;
      if (isPermanent(e) || e instanceof StreamProtocolError || e instanceof SyntaxError) throw e;
      failure = e;
    }
    if (signal.aborted) return;
    attempt++;
    handlers.onState?.("reconnecting", failure ?? undefined);
    await sleep(retryDelay(attempt), signal);
  }
}
