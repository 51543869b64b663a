/**
 * Every Prometheus metric a Stackyard process exports, in one registry per process (docs/operations.md lists
 * them). Instrumented code calls the small record* functions here; gauges that are facts of the database or of
 * JetStream (clusters by status, active deployments, consumer backlog) are read at scrape time from sources the
 * services register while they run, so a scrape never shows a number older than itself. A source that fails
 * reports no sample at all for its gauge (and counts the failure): absent means "unknown", never a stale value.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export const metricsRegistry = new Registry();
collectDefaultMetrics({ register: metricsRegistry });

const SECONDS_FAST = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const SECONDS_SLOW = [1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600];

export const deploymentsFinished = new Counter({
  name: "stackyard_deployments_finished_total",
  help: "Deployments that reached a terminal status, by status.",
  labelNames: ["status"] as const,
  registers: [metricsRegistry],
});

export const deploymentDuration = new Histogram({
  name: "stackyard_deployment_duration_seconds",
  help: "From a deployment's creation to its terminal status, by status.",
  labelNames: ["status"] as const,
  buckets: SECONDS_SLOW,
  registers: [metricsRegistry],
});

export const deploymentDispatch = new Histogram({
  name: "stackyard_deployment_dispatch_seconds",
  help: "From a deployment's creation to the agent accepting its DeployStack command (PENDING to RUNNING).",
  buckets: [...SECONDS_FAST, 30, 60, 300],
  registers: [metricsRegistry],
});

export const deploymentConverge = new Histogram({
  name: "stackyard_deployment_converge_seconds",
  help: "From the agent accepting a deployment to its terminal status (time to converge), by status.",
  labelNames: ["status"] as const,
  buckets: SECONDS_SLOW,
  registers: [metricsRegistry],
});

export const agentEventLines = new Counter({
  name: "stackyard_agent_event_lines_total",
  help: "Deployment event lines from agents written to Postgres.",
  registers: [metricsRegistry],
});

export const agentEventLag = new Histogram({
  name: "stackyard_agent_event_lag_seconds",
  help: "From an agent stamping a deployment event line to the line being stored (the event pipeline's lag).",
  buckets: SECONDS_FAST,
  registers: [metricsRegistry],
});

export const heartbeatLag = new Histogram({
  name: "stackyard_agent_heartbeat_lag_seconds",
  help: "From an agent sending a heartbeat to the control plane receiving it (includes clock skew).",
  buckets: SECONDS_FAST,
  registers: [metricsRegistry],
});

export const httpRequestDuration = new Histogram({
  name: "stackyard_http_request_duration_seconds",
  help: "REST requests by method, route template (as in openapi.yaml) and status code.",
  labelNames: ["method", "route", "status"] as const,
  buckets: SECONDS_FAST,
  registers: [metricsRegistry],
});

export const loginFailures = new Counter({
  name: "stackyard_login_failures_total",
  help: "Refused logins, by reason (bad_credentials, throttled).",
  labelNames: ["reason"] as const,
  registers: [metricsRegistry],
});

export const metricSourceErrors = new Counter({
  name: "stackyard_metric_source_errors_total",
  help: "Scrape-time reads that failed (their gauge reported no sample for that scrape), by gauge.",
  labelNames: ["gauge"] as const,
  registers: [metricsRegistry],
});

export interface GaugeSample {
  labels: Record<string, string>;
  value: number;
}
export type GaugeSource = () => Promise<GaugeSample[]> | GaugeSample[];

/** A gauge whose samples are read at scrape time from whichever sources the running services registered. */
class SourcedGauge<L extends string> {
  private readonly sources = new Set<GaugeSource>();
  readonly gauge: Gauge<L>;

  constructor(name: string, help: string, labelNames: readonly L[]) {
    const sources = this.sources;
    this.gauge = new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [metricsRegistry],
      async collect() {
        this.reset();
        for (const source of sources) {
          try {
            for (const s of await source()) this.set(s.labels as Partial<Record<L, string>>, s.value);
          } catch {
            metricSourceErrors.inc({ gauge: name });
          }
        }
      },
    });
  }

  /** Adds a source; the returned function removes it (call it when the service stops). */
  register(source: GaugeSource): () => void {
    this.sources.add(source);
    return () => this.sources.delete(source);
  }
}

export const clustersByStatus = new SourcedGauge(
  "stackyard_clusters",
  "Clusters by status (online, degraded, offline, pending, revoked); offline when the heartbeat is too old.",
  ["status"] as const,
);

export const deploymentsActive = new SourcedGauge(
  "stackyard_deployments_active",
  "Deployments not yet ended, by status (PENDING, RUNNING).",
  ["status"] as const,
);

export const jetstreamConsumerPending = new SourcedGauge(
  "stackyard_jetstream_consumer_pending_messages",
  "Messages of a pipeline stream its durable consumer has not yet been delivered (the backlog), by stream and consumer.",
  ["stream", "consumer"] as const,
);

export const jetstreamConsumerAckPending = new SourcedGauge(
  "stackyard_jetstream_consumer_ack_pending_messages",
  "Messages delivered to a pipeline consumer and not yet acknowledged, by stream and consumer.",
  ["stream", "consumer"] as const,
);

export const sseStreamsOpen = new SourcedGauge(
  "stackyard_sse_streams_open",
  "Deployment event streams (SSE) open on this process's gateway.",
  [] as const,
);

const secondsBetween = (from: Date | null | undefined, to: Date | null | undefined): number | null =>
  from && to ? Math.max(0, (to.getTime() - from.getTime()) / 1000) : null;

/** The timestamps of a deployment row that the lifecycle metrics read. */
export interface DeploymentTimes {
  status: string;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

/** Records a transition that has been committed (lifecycle.ts calls it once per written transition). */
export function recordDeploymentTransition(row: DeploymentTimes): void {
  if (row.status === "RUNNING") {
    const dispatch = secondsBetween(row.created_at, row.started_at);
    if (dispatch !== null) deploymentDispatch.observe(dispatch);
    return;
  }
  if (!["SUCCEEDED", "FAILED", "CANCELED", "REJECTED"].includes(row.status)) return;
  deploymentsFinished.inc({ status: row.status });
  const total = secondsBetween(row.created_at, row.finished_at);
  if (total !== null) deploymentDuration.observe({ status: row.status }, total);
  const converge = secondsBetween(row.started_at, row.finished_at);
  if (converge !== null) deploymentConverge.observe({ status: row.status }, converge);
}

/** Stored agent event lines, with the agent's own timestamps. */
export function recordAgentEventLines(stampedAt: Date[], storedAt = new Date()): void {
  agentEventLines.inc(stampedAt.length);
  for (const ts of stampedAt) agentEventLag.observe(Math.max(0, (storedAt.getTime() - ts.getTime()) / 1000));
}

export function recordHeartbeat(sentAtMs: number, receivedAt: Date): void {
  heartbeatLag.observe(Math.max(0, (receivedAt.getTime() - sentAtMs) / 1000));
}
