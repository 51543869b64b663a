/**
 * deploy-worker: executes deployments from the JetStream work queue (run as many as you like; JetStream hands
 * each job to one of them) and fails deployments whose agent went silent.
 */
import type { ServiceSchema } from "moleculer";
import type { ConsumerMessages, NatsConnection } from "nats";
import type { Config } from "../_shared/config.js";
import type { Db } from "../_shared/db.js";
import { loadNatsIdentity } from "../clusters/index.js";
import { broadcastDeploymentEvents } from "../_shared/bus-events.js";
import { validRequestId } from "../../nats/protocol/request-id.js";
import { withRequestId } from "../_shared/request-context.js";
import {
  CONSUME_EXPIRES_MS,
  DEPLOY_JOBS_STREAM,
  DEPLOY_WORKERS_CONSUMER,
  ensureDeploymentStreams,
  type DeployJob,
} from "./jetstream.js";
import { connectNats } from "../_shared/nats.js";
import { systemDb } from "../_shared/tenant.js";
import { failStaleDeployments, processDeployJob, type WorkerDeps } from "./worker.js";

/** Retry delays: a busy environment re-checks soon; an offline agent less often. */
export const BUSY_RETRY_MS = 1_000;
export const OFFLINE_RETRY_MS = 3_000;
export const STALE_SWEEP_MS = 15_000;

export function createDeployWorkerService({ config, db }: { config: Config; db: Db }): ServiceSchema {
  let nc: NatsConnection;
  let messages: ConsumerMessages | undefined;
  let sweep: NodeJS.Timeout | undefined;

  return {
    name: "deploy-worker",
    methods: {
      async consumeJobs(deps: WorkerDeps) {
        const consumer = await nc.jetstream().consumers.get(DEPLOY_JOBS_STREAM.name, DEPLOY_WORKERS_CONSUMER);
        messages = await consumer.consume({ max_messages: 8, expires: CONSUME_EXPIRES_MS });
        for await (const m of messages) {
          let job: Partial<DeployJob> = {};
          try {
            job = JSON.parse(new TextDecoder().decode(m.data)) as Partial<DeployJob>;
          } catch {
            // Left empty: the job is refused below like any job without a deployment id.
          }
          const deploymentId = typeof job.deploymentId === "string" ? job.deploymentId : "";
          // Jobs enqueued before request ids existed carry none; the job then runs without one.
          await withRequestId(validRequestId(job.requestId), async () => {
            try {
              // Names the worker holding a job while it runs (a dispatch waits up to DEPLOY_DISPATCH_TIMEOUT_MS).
              this.logger.info({ msg: "deploy job taken", deploymentId, attempt: m.info.redeliveryCount });
              const outcome = await processDeployJob(deps, deploymentId);
              this.logger.info({ msg: "deploy job processed", deploymentId, outcome, attempt: m.info.redeliveryCount });
              if (outcome === "done") m.ack();
              else m.nak(outcome === "busy" ? BUSY_RETRY_MS : OFFLINE_RETRY_MS);
            } catch (err) {
              this.logger.error({ msg: "deploy job failed; it will be redelivered", deploymentId, error: String(err) });
              m.nak(OFFLINE_RETRY_MS);
            }
          });
        }
      },
    },
    async started() {
      const identity = await loadNatsIdentity(config.nats.identityFile);
      nc = await connectNats(config.nats, config.nats.credsFile, "stackyard-deploy-worker");
      await ensureDeploymentStreams(await nc.jetstreamManager(), config.nats.streamReplicas);
      const deps: WorkerDeps = {
        // The worker acts for no caller: each job names its deployment, and so its org.
        db: systemDb(db, "deploy-worker"),
        nc,
        masterKeys: config.stacks.masterKeys,
        commandSigningSeed: identity.commandSigningSeed,
        agentWaitTtlMs: config.deployments.agentWaitSeconds * 1000,
        offlineAfterSeconds: config.clusters.offlineAfterSeconds,
        dispatchTimeoutMs: config.deployments.dispatchTimeoutMs,
        keepSecretVersions: config.deployments.secretVersionsKept,
        onEvents: (deploymentId, events, status) =>
          broadcastDeploymentEvents(this.broker, { deploymentId, events, status }),
      };
      this.consumeJobs(deps).catch((err: unknown) =>
        this.logger.error({ msg: "job consumer stopped", error: String(err) }),
      );
      sweep = setInterval(() => {
        failStaleDeployments(deps.db, config.deployments.staleGraceSeconds, deps.onEvents).catch((err: unknown) =>
          this.logger.error({ msg: "stale deployment sweep failed", error: String(err) }),
        );
      }, STALE_SWEEP_MS);
    },
    async stopped() {
      clearInterval(sweep);
      messages?.stop();
      await nc?.drain();
    },
  };
}
