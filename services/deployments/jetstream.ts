/** The two JetStream streams of the deployment pipeline and their durable consumers, created idempotently. */
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  nanos,
  type JetStreamManager,
} from "nats";
import { AGENT_EVENTS_STREAM } from "../../nats/protocol/subjects.js";

export const DEPLOY_JOBS_STREAM = { name: "STACKYARD_DEPLOY_JOBS", subjects: ["deploy.jobs.>"] } as const;
export const deployJobSubject = (deploymentId: string): string => `deploy.jobs.${deploymentId}`;

/** A message of the jobs stream: which deployment to dispatch, and the request that asked for it (for logs). */
export interface DeployJob {
  deploymentId: string;
  requestId: string | null;
}

/**
 * Store limits, so no tenant can fill the server's file store (nats/server.conf.template: max_file_store 4GB).
 * Agents publish into the events stream: the whole stream is capped (oldest events go first; the writer has
 * normally consumed them long before), and each deployment's subject separately, so one cluster flooding one
 * deployment cannot push out the others. Only the control plane publishes jobs: a full jobs stream refuses new
 * jobs (the API answers an error) rather than dropping pending ones.
 */
export const AGENT_EVENTS_MAX_BYTES = 1024 * 1024 * 1024;
export const AGENT_EVENTS_MAX_MSGS_PER_DEPLOYMENT = 100_000;
export const DEPLOY_JOBS_MAX_BYTES = 256 * 1024 * 1024;

/**
 * How long each pull of `consume()` lives. nats.js sends idle heartbeats every half of it and re-pulls after two
 * missed ones: a pull held by a consumer leader that died (a NATS node lost) is noticed after about this long
 * rather than nats.js's default 30 s + 30 s (measured in `make test-ha`).
 */
export const CONSUME_EXPIRES_MS = 5_000;

export const DEPLOY_WORKERS_CONSUMER = "deploy-workers";
export const EVENT_WRITERS_CONSUMER = "deployment-event-writers";

/**
 * Create or update one stream. The deployments API and the workers both call this when they start, often at the
 * same moment in one broker: both can see "stream not found", and the slower `add` then fails ("subjects overlap
 * with an existing stream", or "already in use") because the faster one just created it. That loser goes round
 * once more and updates the stream the other created.
 */
async function ensureStream(
  jsm: JetStreamManager,
  config: Parameters<JetStreamManager["streams"]["add"]>[0] & { name: string },
) {
  for (let attempt = 1; ; attempt++) {
    try {
      const existing = await jsm.streams.info(config.name);
      // An update replaces the source list: keep the leaf clusters' sources (leaf-sources.ts).
      const sources = existing.config?.sources;
      await jsm.streams.update(config.name, { ...config, ...(sources?.length ? { sources } : {}) });
      return;
    } catch (err) {
      if (!/stream not found/i.test(String(err))) throw err;
    }
    try {
      await jsm.streams.add(config);
      return;
    } catch (err) {
      const createdConcurrently = /subjects overlap|already in use/i.test(String(err));
      if (!createdConcurrently || attempt >= 3) throw err;
    }
  }
}

/**
 * `replicas` (NATS_STREAM_REPLICAS): 3 on a 3-node cluster, so losing a node loses no acknowledged job or event;
 * an existing stream is scaled to it by the update (the server moves the data). Consumers inherit it.
 */
export async function ensureDeploymentStreams(jsm: JetStreamManager, replicas = 1): Promise<void> {
  await retryWhileJetStreamSettles(() => ensureDeploymentStreamsOnce(jsm, replicas));
}

/**
 * JetStream API errors that mean "not now", not "no": a request that timed out or found no responder while a
 * cluster elects its meta leader or places an R3 stream on busy nodes. Everything here is idempotent (create or
 * update to the same config), so the whole set-up is tried again; any other error is final at once.
 */
const TRANSIENT_JETSTREAM = /TIMEOUT|no responders|temporarily unavailable|503/i;
export const JETSTREAM_SETUP_ATTEMPTS = 8;
export const JETSTREAM_SETUP_RETRY_MS = 2_000;

async function retryWhileJetStreamSettles(run: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (err) {
      if (attempt >= JETSTREAM_SETUP_ATTEMPTS || !TRANSIENT_JETSTREAM.test(String(err))) throw err;
      await new Promise((r) => setTimeout(r, JETSTREAM_SETUP_RETRY_MS));
    }
  }
}

async function ensureDeploymentStreamsOnce(jsm: JetStreamManager, replicas: number): Promise<void> {
  await ensureStream(jsm, {
    name: DEPLOY_JOBS_STREAM.name,
    num_replicas: replicas,
    subjects: [...DEPLOY_JOBS_STREAM.subjects],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    max_age: nanos(7 * 24 * 3600 * 1000),
    max_bytes: DEPLOY_JOBS_MAX_BYTES,
    discard: DiscardPolicy.New,
  });
  await ensureStream(jsm, {
    name: AGENT_EVENTS_STREAM.name,
    num_replicas: replicas,
    subjects: [...AGENT_EVENTS_STREAM.subjects],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    max_age: nanos(3 * 24 * 3600 * 1000),
    max_msg_size: 64 * 1024,
    max_bytes: AGENT_EVENTS_MAX_BYTES,
    max_msgs_per_subject: AGENT_EVENTS_MAX_MSGS_PER_DEPLOYMENT,
    discard: DiscardPolicy.Old,
  });
  await jsm.consumers.add(DEPLOY_JOBS_STREAM.name, {
    durable_name: DEPLOY_WORKERS_CONSUMER,
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(60_000),
    max_deliver: -1,
  });
  await jsm.consumers.add(AGENT_EVENTS_STREAM.name, {
    durable_name: EVENT_WRITERS_CONSUMER,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(30_000),
    max_deliver: -1,
    max_ack_pending: 20_000,
  });
}
