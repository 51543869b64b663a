/**
 * The request id of whatever this process is doing right now, kept in AsyncLocalStorage: set around every local
 * action and event handler from Moleculer's ctx.requestID (moleculer.config.ts), and around each deploy job from
 * the job itself, so that the log formatter, the job publisher and the agent-command sender can all read it
 * without threading it through every call.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { Middleware } from "moleculer";

const store = new AsyncLocalStorage<{ requestId: string }>();

export const currentRequestId = (): string | undefined => store.getStore()?.requestId;

export function withRequestId<T>(requestId: string | undefined, fn: () => T): T {
  return requestId ? store.run({ requestId }, fn) : fn();
}

type Handler = (ctx: { requestID?: string | null }) => unknown;

/** Moleculer middleware: every local action and event handler runs with its context's request id current. */
export const requestIdMiddleware: Middleware = {
  name: "RequestId",
  localAction(next: Handler) {
    return (ctx: { requestID?: string | null }) => withRequestId(ctx.requestID ?? undefined, () => next(ctx));
  },
  localEvent(next: Handler) {
    return (ctx: { requestID?: string | null }) => withRequestId(ctx.requestID ?? undefined, () => next(ctx));
  },
} as unknown as Middleware;
