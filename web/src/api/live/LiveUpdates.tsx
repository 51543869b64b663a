/**
 * Live updates for an org's pages: while mounted, events from the bus revalidate exactly the cached reads they make
 * stale (batched, so a burst of Docker events during a deploy is one refetch per read), and polling stays the
 * fallback. The state is offered to the header's indicator.
 */
import { createContext, useContext, useEffect, useRef, useState, type ReactNode } from "react";
import { useSWRConfig } from "swr";
import { useApiClient } from "../hooks/context.js";
import { affectedPaths, keyIsAffected } from "./affected.js";
import { LiveLink, type LiveState } from "./connection.js";

/** Events within this window are folded into one revalidation. */
const BATCH_MS = 250;

export interface LiveStatus {
  state: LiveState;
  reason?: string;
}

const LiveStatusContext = createContext<LiveStatus>({ state: "polling", reason: "live updates are off" });

export const useLiveStatus = (): LiveStatus => useContext(LiveStatusContext);

/**
 * While live, events bring changes: polling drops to a slow safety net (delivery is at most once, so a missed event
 * is caught up within this). Without the link, the page polls as often as the caller asked.
 */
export const LIVE_SAFETY_POLL_MS = 60_000;

export function usePollInterval(ms: number): number {
  return useLiveStatus().state === "live" ? Math.max(ms, LIVE_SAFETY_POLL_MS) : ms;
}

type Revalidate = () => void;
type RegisterRevalidation = (path: string, revalidate: Revalidate) => () => void;
/** Paged reads (useSWRInfinite) are out of reach of a global mutate filter: they register here instead. */
const LiveRevalidationContext = createContext<RegisterRevalidation>(() => () => undefined);

/** Revalidates a paged read (its first page's path) when an event makes that path stale. */
export function useLiveRevalidation(path: string, revalidate: Revalidate): void {
  const register = useContext(LiveRevalidationContext);
  const latest = useRef(revalidate);
  latest.current = revalidate;
  useEffect(() => register(path, () => latest.current()), [register, path]);
}

/** Off where there is no bus to reach (the component tests' fake API): pages then poll, as without NATS_WS_URL. */
export const LiveUpdatesEnabled = createContext(true);

export function LiveUpdates(props: { orgId: string; children: ReactNode }) {
  const client = useApiClient();
  const { mutate } = useSWRConfig();
  const enabled = useContext(LiveUpdatesEnabled);
  const [paged] = useState(() => new Map<Revalidate, string>());
  const [register] = useState(() => {
    const registerPaged: RegisterRevalidation = (path, revalidate) => {
      paged.set(revalidate, path);
      return () => void paged.delete(revalidate);
    };
    return registerPaged;
  });
  const [status, setStatus] = useState<LiveStatus>(
    enabled ? { state: "connecting" } : { state: "polling", reason: "live updates are off" },
  );
  useEffect(() => {
    if (!enabled) return;
    const pending = new Set<string>();
    let flush: ReturnType<typeof setTimeout> | null = null;
    const link = new LiveLink({
      client,
      orgId: props.orgId,
      onState: (state, reason) => setStatus(reason ? { state, reason } : { state }),
      onEvent: (subject) => {
        for (const path of affectedPaths(props.orgId, subject)) pending.add(path);
        if (flush || pending.size === 0) return;
        flush = setTimeout(() => {
          flush = null;
          const fragments = new Set(pending);
          pending.clear();
          void mutate((key) => keyIsAffected(key, fragments));
          for (const [revalidate, path] of paged) if (keyIsAffected(path, fragments)) revalidate();
        }, BATCH_MS);
      },
    });
    void link.start();
    return () => {
      if (flush) clearTimeout(flush);
      void link.stop();
    };
  }, [client, enabled, mutate, paged, props.orgId]);
  return (
    <LiveRevalidationContext.Provider value={register}>
      <LiveStatusContext.Provider value={status}>{props.children}</LiveStatusContext.Provider>
    </LiveRevalidationContext.Provider>
  );
}

/** The header's indicator: says whether what the page shows follows the bus or is polled. */
export function LiveIndicator() {
  const { state, reason } = useLiveStatus();
  const label = state === "live" ? "Live" : state === "connecting" ? "Connecting…" : "Polling";
  const title =
    state === "live"
      ? "Changes appear as they happen (live updates over NATS)"
      : (reason ?? "Pages refresh every few seconds");
  return (
    <span className={`live-indicator live-${state}`} data-live={state} title={title}>
      {label}
    </span>
  );
}
