/** Scrape-time samples of the deployment pipeline's gauges (services/_shared/metrics.ts). */
import type { JetStreamManager } from "nats";
import type { Db } from "../_shared/db.js";
import type { GaugeSample } from "../_shared/metrics.js";
import { AGENT_EVENTS_STREAM } from "../../nats/protocol/subjects.js";
import { DEPLOY_JOBS_STREAM, DEPLOY_WORKERS_CONSUMER, EVENT_WRITERS_CONSUMER } from "./jetstream.js";

const ACTIVE: readonly string[] = ["PENDING", "RUNNING"];

/** Deployments not yet ended, across every org (read through the partial index deployments_active_by_environment). */
export async function activeDeploymentSamples(db: Db): Promise<GaugeSample[]> {
  const rows = (await db("deployments")
    .whereIn("status", ACTIVE)
    .groupBy("status")
    .select("status")
    .count<Array<{ status: string; count: string }>>("* as count")) as Array<{ status: string; count: string }>;
  const counts = new Map(rows.map((r) => [r.status, Number(r.count)]));
  return ACTIVE.map((status) => ({ labels: { status }, value: counts.get(status) ?? 0 }));
}

const PIPELINE_CONSUMERS = [
  { stream: DEPLOY_JOBS_STREAM.name, consumer: DEPLOY_WORKERS_CONSUMER },
  { stream: AGENT_EVENTS_STREAM.name, consumer: EVENT_WRITERS_CONSUMER },
] as const;

export interface ConsumerBacklog {
  pending: GaugeSample[];
  ackPending: GaugeSample[];
}

/** The backlog of the pipeline's two durable consumers, read from the server. */
export async function consumerBacklog(jsm: JetStreamManager): Promise<ConsumerBacklog> {
  const backlog: ConsumerBacklog = { pending: [], ackPending: [] };
  for (const c of PIPELINE_CONSUMERS) {
    const info = await jsm.consumers.info(c.stream, c.consumer);
    backlog.pending.push({ labels: { ...c }, value: info.num_pending });
    backlog.ackPending.push({ labels: { ...c }, value: info.num_ack_pending });
  }
  return backlog;
}
