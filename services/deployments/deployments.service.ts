/**
 * deployments: the REST side of deployments (create with idempotency, rollback, cancel, history, the event
 * replay behind the SSE stream) and live operations (status, scale, logs); plus the writer that persists
 * agents' deployment events from JetStream. Execution is the deploy-worker service's (worker.service.ts).
 */
import { retryUntilWritten } from "./write-retry.js";
import type { ActionSchema, Context, ServiceSchema } from "moleculer";
import type { JetStreamClient, NatsConnection, ConsumerMessages } from "nats";
import type { Config } from "../_shared/config.js";
import type { Db } from "../_shared/db.js";
import { AgentUnreachableError, sendAgentCommand } from "../_shared/agent-commands.js";
import { BadRequestError, ConflictError } from "../_shared/errors.js";
import { broadcastDeploymentEvents, GIT_SYNC_POLLED_EVENT, type GitSyncPolled } from "../_shared/bus-events.js";
import type { OpCtx } from "../_shared/rest.js";
import type { CallContext } from "../_shared/principal.js";
import { actionScope } from "../_shared/service-context.js";
import { loadNatsIdentity } from "../clusters/index.js";
import { actorOf, recordAudit } from "../audit/index.js";
import {
  cancelPending,
  createDeployment,
  findDeployment,
  getDeployment,
  listDeployments,
  previousSuccessfulRelease,
} from "./deployments.logic.js";
import { findEnvironment } from "../stacks/index.js";
import { listEvents } from "./events.repo.js";
import { DeploymentEventWriter, type IncomingEvent } from "./events-writer.js";
import { deploymentsActive, jetstreamConsumerAckPending, jetstreamConsumerPending } from "../_shared/metrics.js";
import { systemDb, systemScope } from "../_shared/tenant.js";
import { activeDeploymentSamples, consumerBacklog, type ConsumerBacklog } from "./metrics.js";
import { currentRequestId } from "../_shared/request-context.js";
import {
  CONSUME_EXPIRES_MS,
  deployJobSubject,
  type DeployJob,
  ensureDeploymentStreams,
  EVENT_WRITERS_CONSUMER,
} from "./jetstream.js";
import { connectNats } from "../_shared/nats.js";
import { searchEnvironmentLogs } from "./log-search.js";
import { environmentStatus, scaleService, serviceLogs, type RuntimeDeps } from "./runtime.logic.js";
import { logFollowTarget, renewLogFollow, startLogFollow, stopLogFollow, type LogFollowStep } from "./log-follow.js";
import { runServiceAction, SERVICE_ACTION_TIMEOUT_MS } from "./service-actions.js";
import {
  DEFAULT_EXEC_COMMAND,
  endExecSession,
  execTarget,
  startExecSession,
  type ExecEnd,
  type ExecSessionStep,
} from "./exec-sessions.js";
import { finishDeployment, isTerminal } from "./lifecycle.js";
import { deleteEnvironment, REMOVE_STACK_TIMEOUT_MS } from "./environment-removal.js";
import { AGENT_EVENTS_STREAM } from "../../nats/protocol/subjects.js";
import { autoSyncEnvironments, pinEnvironment, unpinEnvironment } from "./auto-sync.js";
import { environmentView, OrgFetchLimiter } from "../stacks/index.js";
import type { DeploymentEventView } from "./views.js";
import { decideApproval, listPendingApprovals } from "./approvals.js";
import { promoteEnvironment } from "./promotion.js";
import {
  buildReleaseFromSource,
  cancelReleaseBuild,
  endLostBuilds,
  getReleaseBuild,
  type BuildFromSourceInput,
  type BuildSettings,
} from "./builds/builds.logic.js";
import { findBuild, listBuildEvents } from "./builds/builds.repo.js";
import { TenantScope } from "../_shared/tenant.js";
import type { RequestInfo } from "../_shared/principal.js";

/** Building from source: the git fetch, then the agent's answer. */
const BUILD_ACTION_TIMEOUT_MS = 120_000;
import type { PullRequestEvent } from "../stacks/index.js";
import {
  destroyPreview,
  handlePullRequest,
  listPreviews,
  previewView,
  recordPreviewDeploymentEnd,
  continuePreviewAfterBuild,
  buildsAwaitedByEndedPreviews,
  requestPreviewDestroy,
  type PreviewDeps,
  type PullRequestOutcome,
} from "./previews/previews.logic.js";
import {
  deletePreviewSettings,
  findPreviewSettings,
  getPreviewSettings,
  putPreviewSettings,
  type PreviewSettingsRow,
} from "./previews/settings.js";
import { announcePreview } from "./previews/announce.js";
import type { ForgeSettings } from "./previews/forge.js";
import { PreviewReaper } from "./previews/reaper.js";
import type { PreviewRow } from "./previews/previews.logic.js";

export const EVENTS_PAGE_LIMIT = 1_000;
const systemScopeOf = (db: Db) => (orgId: string) => systemScope(db, orgId, "previews");

/** Moleculer honours an action's own `timeout` (its timeout middleware) though its typings omit the field. */
const withTimeout = <A extends ActionSchema>(action: A, timeoutMs: number): A =>
  Object.assign(action, { timeout: timeoutMs });
/**
 * How long the event writer's batch stays open after its first message. Agents send the lines that pile up as one
 * message (agent/src/events.ts), so batches need no long window to grow: at 5 ms a line waited that long before its
 * insert (events bench: SSE p50 10 ms, p99 107–167 ms at 2,000 lines/s; at 1 ms: 4–6 ms and 37–48 ms).
 */
const WRITER_BATCH_DELAY_MS = 1;

/** An agent event taken from JetStream, waiting in the writer's next batch. */
interface PendingEvent {
  msg: IncomingEvent;
  ack(): void;
  working(): void;
}
/** Beyond the scale command's own deadline: the database lock and the reply's trip. */
const SCALE_ACTION_MARGIN_MS = 10_000;
const ROLLBACK_ENQUEUE_ATTEMPTS = 5;

export function createDeploymentsService({ config, db }: { config: Config; db: Db }): ServiceSchema {
  let nc: NatsConnection;
  let js: JetStreamClient;
  let runtime: RuntimeDeps & { scaleTimeoutMs: number };
  let builds: BuildSettings;
  let writerMessages: ConsumerMessages | undefined;
  let writerStopped = false;
  const stopMetrics: Array<() => void> = [];
  const writer = new DeploymentEventWriter(db, config.stacks.masterKeys);
  const previewDeps: PreviewDeps = {
    db,
    // Made in started(), with the NATS connection.
    get builds() {
      return builds;
    },
    masterKeys: config.stacks.masterKeys,
    defaultQuota: config.previews.defaultQuotaPerOrg,
  };
  const forge: ForgeSettings = {
    policy: {
      blockPrivateNetworks: config.previews.forgeBlockPrivateNetworks,
      testAllowedHosts: config.previews.forgeTestAllowedHosts,
    },
    timeoutMs: config.previews.forgeTimeoutMs,
  };
  let reaper: PreviewReaper | undefined;
  let buildSweep: NodeJS.Timeout | undefined;
  const systemScopeOfOrg = systemScopeOf(db);

  return {
    name: "deployments",
    events: {
      /** Brings a git source's automatic environments to its newest release (auto-sync.ts). */
      async [GIT_SYNC_POLLED_EVENT](ctx: Context<GitSyncPolled>) {
        try {
          const ids = await autoSyncEnvironments(db, ctx.params.orgId, ctx.params.sourceId);
          // Committed rows with no other dispatch: enqueued with the same retries as an automatic rollback.
          for (const id of ids) await this.enqueueRollback(id);
        } catch (err) {
          this.logger.warn({ msg: "git auto-sync deploy failed", sourceId: ctx.params.sourceId, err: String(err) });
        }
      },
    },
    actions: {
      // Releases built from source (builds/builds.logic.ts).
      createBuild: withTimeout(
        {
          handler(ctx: OpCtx<"createReleaseBuild">) {
            const { scope, principal, request } = actionScope(db, ctx);
            const b = ctx.params.body;
            return buildReleaseFromSource(
              builds,
              scope,
              { actorType: principal.actorType, actorId: principal.actorId, userId: principal.userId },
              principal,
              {
                stackId: ctx.params.params.stackId,
                environmentId: b.environmentId,
                git: b.git,
                ...(b.registry ? { registry: b.registry } : {}),
              },
              request,
            );
          },
        },
        BUILD_ACTION_TIMEOUT_MS,
      ),
      /**
       * The same for callers inside the control plane (preview environments): no REST route, no caller; the
       * release is made by the system (audited as such). An SSH host key must be trusted already.
       */
      buildFromSource: withTimeout(
        {
          visibility: "public",
          handler(ctx: Context<BuildFromSourceInput & { orgId: string; reason: string }>) {
            const { orgId, reason, ...input } = ctx.params;
            const request: RequestInfo = { ip: null, userAgent: `stackyard (${reason})` };
            return buildReleaseFromSource(
              builds,
              new TenantScope(db, orgId),
              { actorType: "system", actorId: null, userId: null },
              null,
              input,
              request,
            );
          },
        },
        BUILD_ACTION_TIMEOUT_MS,
      ),
      getBuild: (ctx: OpCtx<"getReleaseBuild">) =>
        getReleaseBuild(actionScope(db, ctx).scope, ctx.params.params.buildId),
      cancelBuild(ctx: OpCtx<"cancelReleaseBuild">) {
        const { scope, principal, request } = actionScope(db, ctx);
        return cancelReleaseBuild(builds, scope, principal, ctx.params.params.buildId, request);
      },
      /** Replay for the build's SSE stream, in the shape of the deployment one (the gateway streams both alike). */
      async buildEvents(ctx: OpCtx<"releaseBuildEvents"> & { params: { afterSeq?: number | null } }) {
        const { scope } = actionScope(db, ctx);
        const build = await findBuild(scope, ctx.params.params.buildId);
        const afterSeq = ctx.params.afterSeq ?? ctx.params.query.lastEventId ?? null;
        const events = await listBuildEvents(scope, build.id, afterSeq, EVENTS_PAGE_LIMIT);
        return {
          deployment: { id: build.id, status: build.status },
          events,
          more: events.length === EVENTS_PAGE_LIMIT,
        };
      },
      /**
       * A verified, deduplicated pull-request delivery, from stacks' webhook receiver (no REST route): open or
       * push deploys `pr-<n>`, close marks it destroying and destroys it in the background.
       */
      async pullRequestEvent(ctx: Context<{ orgId: string; sourceId: string; event: PullRequestEvent }>) {
        const outcome: PullRequestOutcome = await handlePullRequest(previewDeps, ctx.params);
        if (outcome.deploymentId) await this.enqueue(outcome.deploymentId);
        if (outcome.preview && (outcome.result === "created" || outcome.result === "redeployed")) {
          this.announce(ctx.params.orgId, outcome.preview.id);
        }
        if (outcome.result === "destroying" && outcome.preview)
          this.destroyInBackground(ctx.params.orgId, outcome.preview.id);
        return { result: outcome.result, preview: outcome.preview };
      },
      getPreviewSettings: (ctx: OpCtx<"getPreviewSettings">) =>
        getPreviewSettings(actionScope(db, ctx).scope, ctx.params.params.stackId),
      putPreviewSettings(ctx: OpCtx<"putPreviewSettings">) {
        const { scope, principal, request } = actionScope(db, ctx);
        return putPreviewSettings(
          scope,
          principal,
          ctx.params.params.stackId,
          ctx.params.body,
          config.stacks.masterKeys,
          request,
        );
      },
      async deletePreviewSettings(ctx: OpCtx<"deletePreviewSettings">) {
        const { scope, principal, request } = actionScope(db, ctx);
        await deletePreviewSettings(scope, principal, ctx.params.params.stackId, request);
        return null;
      },
      listPreviews: (ctx: OpCtx<"listPreviews">) =>
        listPreviews(actionScope(db, ctx).scope, ctx.params.params.stackId, config.previews.defaultQuotaPerOrg),
      async destroyPreview(ctx: OpCtx<"destroyPreview">) {
        const { scope, principal, request } = actionScope(db, ctx);
        const row = await requestPreviewDestroy(scope, principal, ctx.params.params.previewId, request);
        this.destroyInBackground(scope.orgId, row.id);
        return previewView(row);
      },
      async create(ctx: OpCtx<"createDeployment">) {
        const { scope, principal, request } = actionScope(db, ctx);
        const result = await createDeployment(
          scope,
          principal,
          {
            environmentId: ctx.params.params.envId,
            releaseId: ctx.params.body.releaseId,
            kind: "deploy",
            idempotencyKey: this.idempotencyKey(ctx),
            adopt: ctx.params.body.adopt === true,
          },
          request,
        );
        if (!result.replayed) await this.enqueueIfPending(result.deployment);
        return result.deployment;
      },
      async promote(ctx: OpCtx<"promoteEnvironment">) {
        const { scope, principal, request } = actionScope(db, ctx);
        const result = await promoteEnvironment(
          scope,
          principal,
          {
            sourceEnvironmentId: ctx.params.params.envId,
            targetEnvironmentId: ctx.params.body?.targetEnvironmentId ?? null,
            idempotencyKey: this.idempotencyKey(ctx),
          },
          request,
        );
        if (!result.replayed) await this.enqueueIfPending(result.deployment);
        return result.deployment;
      },
      async decideApproval(ctx: OpCtx<"decideApproval">) {
        const { scope, principal, request } = actionScope(db, ctx);
        const decided = await decideApproval(
          scope,
          principal,
          ctx.params.params.deploymentId,
          { decision: ctx.params.body.decision, comment: ctx.params.body.comment ?? "" },
          request,
        );
        this.broadcastEvents(decided.row.id, decided.events, decided.row.status);
        // Its first job (if any) was dropped while it waited; this one has its own message id for the dedupe.
        if (decided.approved) await this.enqueue(decided.row.id, `${decided.row.id}:approved`);
        return getDeployment(scope, decided.row.id);
      },
      listApprovals(ctx: OpCtx<"listPendingApprovals">) {
        const { scope, principal } = actionScope(db, ctx);
        return listPendingApprovals(scope, principal);
      },
      async rollback(ctx: OpCtx<"rollbackEnvironment">) {
        const { scope, principal, request } = actionScope(db, ctx);
        const envId = ctx.params.params.envId;
        await findEnvironment(scope, envId);
        const releaseId = ctx.params.body?.releaseId ?? (await previousSuccessfulRelease(scope, envId));
        const result = await createDeployment(
          scope,
          principal,
          {
            environmentId: envId,
            releaseId,
            kind: "rollback",
            idempotencyKey: this.idempotencyKey(ctx),
            // A manual rollback of an auto-synced environment would be undone by the next commit: pin it.
            pinOnRollback: true,
          },
          request,
        );
        if (!result.replayed) await this.enqueueIfPending(result.deployment);
        return result.deployment;
      },
      async pinEnvironment(ctx: OpCtx<"pinEnvironment">) {
        const { scope, principal, request } = actionScope(db, ctx);
        const env = await pinEnvironment(scope, principal, ctx.params.params.envId, ctx.params.body.reason, request);
        return environmentView(env);
      },
      async unpinEnvironment(ctx: OpCtx<"unpinEnvironment">) {
        const { scope, principal, request } = actionScope(db, ctx);
        const result = await unpinEnvironment(db, scope, principal, ctx.params.params.envId, request);
        for (const id of result.deploymentIds) await this.enqueue(id);
        return result;
      },
      list(ctx: OpCtx<"listDeployments">) {
        const { scope } = actionScope(db, ctx);
        return listDeployments(scope, ctx.params.params.envId, {
          limit: ctx.params.query.limit ?? 50,
          before: ctx.params.query.before,
        });
      },
      get: (ctx: OpCtx<"getDeployment">) => getDeployment(actionScope(db, ctx).scope, ctx.params.params.deploymentId),
      /** Replay for the SSE stream (the gateway streams; this returns one page after `afterSeq`). */
      async events(ctx: OpCtx<"deploymentEvents"> & { params: { afterSeq?: number | null } }) {
        const { scope } = actionScope(db, ctx);
        const deployment = await getDeployment(scope, ctx.params.params.deploymentId);
        const afterSeq = ctx.params.afterSeq ?? ctx.params.query.lastEventId ?? null;
        const events = await listEvents(scope, deployment.id, afterSeq, EVENTS_PAGE_LIMIT);
        return { deployment, events, more: events.length === EVENTS_PAGE_LIMIT };
      },
      async cancel(ctx: OpCtx<"cancelDeployment">) {
        const { scope, principal, request } = actionScope(db, ctx);
        const deployment = await findDeployment(scope, ctx.params.params.deploymentId);
        if (isTerminal(deployment.status)) {
          throw new ConflictError("DEPLOYMENT_FINISHED", `the deployment already ended ${deployment.status}`);
        }
        if (deployment.status === "PENDING" || deployment.status === "AWAITING_APPROVAL") {
          await cancelPending(scope, principal, deployment, request);
          this.broadcastEvents(
            deployment.id,
            await listEvents(scope, deployment.id, null, EVENTS_PAGE_LIMIT),
            "CANCELED",
          );
          return getDeployment(scope, deployment.id);
        }
        const env = await findEnvironment(scope, deployment.environment_id);
        await scope.transaction((tx) =>
          recordAudit(
            tx,
            { ...actorOf(principal), action: "deployment.cancel", targetType: "deployment", targetId: deployment.id },
            request,
          ),
        );
        try {
          await sendAgentCommand(
            nc,
            runtime.commandSigningSeed,
            { orgId: scope.orgId, clusterId: env.cluster_id },
            "CancelDeployment",
            { deploymentId: deployment.id, reason: `canceled by ${principal.email}` },
            { timeoutMs: runtime.statusTimeoutMs },
          );
        } catch (err) {
          if (!(err instanceof AgentUnreachableError)) throw err;
          // The agent is gone: nothing will report the end, so record it here.
          await db.transaction((trx) =>
            finishDeployment(
              trx,
              {
                orgId: scope.orgId,
                deploymentId: deployment.id,
                status: "CANCELED",
                errorMessage: "canceled while the agent was unreachable",
                level: "warn",
                message: "canceled while the agent was unreachable; the stack may be left mid-update",
              },
              (id, events, status) => this.broadcastEvents(id, events, status),
            ),
          );
        }
        return getDeployment(scope, deployment.id);
      },
      status: (ctx: OpCtx<"environmentStatus">) =>
        environmentStatus(runtime, actionScope(db, ctx).scope, ctx.params.params.envId),
      // The agent may wait for containers to stop: longer than the default request timeout.
      deleteEnvironment: withTimeout(
        {
          handler(ctx: OpCtx<"deleteEnvironment">) {
            const { scope, principal, request } = actionScope(db, ctx);
            return deleteEnvironment(
              runtime,
              scope,
              actorOf(principal),
              { environmentId: ctx.params.params.envId, keepRunning: ctx.params.query.keepRunning === true },
              request,
            );
          },
        },
        REMOVE_STACK_TIMEOUT_MS + 10_000,
      ),
      // The agent's answer (at the latest at the command's deadline) must arrive before the caller gives up, or
      // a scale done would be reported as a timeout.
      scale: withTimeout(
        {
          handler(ctx: OpCtx<"scaleService">) {
            const { scope, principal, request } = actionScope(db, ctx);
            return scaleService(
              runtime,
              scope,
              principal,
              {
                environmentId: ctx.params.params.envId,
                service: ctx.params.params.service,
                replicas: ctx.params.body.replicas,
              },
              request,
            );
          },
        },
        config.deployments.scaleTimeoutSeconds * 1000 + SCALE_ACTION_MARGIN_MS,
      ),
      serviceAction: withTimeout(
        {
          handler(ctx: OpCtx<"serviceAction">) {
            const { scope, principal, request } = actionScope(db, ctx);
            return runServiceAction(
              runtime,
              scope,
              principal,
              {
                environmentId: ctx.params.params.envId,
                service: ctx.params.params.service,
                action: ctx.params.body.action,
              },
              request,
            );
          },
        },
        SERVICE_ACTION_TIMEOUT_MS + SCALE_ACTION_MARGIN_MS,
      ),
      logs(ctx: OpCtx<"serviceLogs">) {
        const { scope } = actionScope(db, ctx);
        return serviceLogs(runtime, scope, {
          environmentId: ctx.params.params.envId,
          service: ctx.params.params.service,
          tail: ctx.params.query.tail ?? 200,
          since: ctx.params.query.since ?? null,
        });
      },
      searchLogs(ctx: OpCtx<"searchEnvironmentLogs">) {
        const { scope } = actionScope(db, ctx);
        return searchEnvironmentLogs(runtime, scope, {
          environmentId: ctx.params.params.envId,
          query: ctx.params.query,
          nowMs: Date.now(),
        });
      },
      // The steps of a live log follow, called by the gateway's SSE handler (services/api/log-stream.ts) with the
      // route's validated params, the follow id it chose and the step: one action, as the route has one.
      followLogs(ctx: OpCtx<"followServiceLogs"> & { params: { followId: string; step: LogFollowStep } }) {
        const { scope } = actionScope(db, ctx);
        const ids = { environmentId: ctx.params.params.envId, followId: ctx.params.followId };
        switch (ctx.params.step) {
          case "target":
            return logFollowTarget(scope, ids);
          case "start":
            return startLogFollow(runtime, scope, {
              ...ids,
              service: ctx.params.params.service,
              tail: ctx.params.query.tail ?? 100,
              since: ctx.params.query.since ?? null,
              grep: ctx.params.query.grep ?? null,
            });
          case "renew":
            return renewLogFollow(runtime, scope, ids);
          case "stop":
            return stopLogFollow(runtime, scope, ids);
          default:
            throw new BadRequestError("VALIDATION_FAILED", "unknown log follow step");
        }
      },
      // The steps of an exec session, called by the gateway's WebSocket handler (services/api/exec-socket.ts) with
      // the route's validated params, the session id it chose, the step, and at the end what it recorded.
      exec(ctx: OpCtx<"execTask"> & { params: { sessionId: string; step: ExecSessionStep; end?: ExecEnd } }) {
        const { scope, principal, request } = actionScope(db, ctx);
        const ids = { environmentId: ctx.params.params.envId, sessionId: ctx.params.sessionId };
        switch (ctx.params.step) {
          case "target":
            return execTarget(scope, ids);
          case "start":
            return startExecSession(
              runtime,
              scope,
              principal,
              {
                ...ids,
                service: ctx.params.params.service,
                taskId: ctx.params.params.taskId,
                command: ctx.params.query.command ?? DEFAULT_EXEC_COMMAND,
                cols: ctx.params.query.cols ?? 80,
                rows: ctx.params.query.rows ?? 24,
              },
              request,
            );
          case "end":
            if (!ctx.params.end) throw new BadRequestError("VALIDATION_FAILED", "the end step needs the session's end");
            return endExecSession(scope, principal, { environmentId: ids.environmentId, end: ctx.params.end }, request);
          default:
            throw new BadRequestError("VALIDATION_FAILED", "unknown exec session step");
        }
      },
    },
    methods: {
      /** Tells the preview's forge its state (never awaited by a request; failures are logged, not raised). */
      announce(orgId: string, previewId: string) {
        void (async () => {
          const preview = (await db("previews").where({ id: previewId, org_id: orgId }).first()) as
            PreviewRow | undefined;
          if (!preview) return;
          const settings = await findPreviewSettings(systemScopeOfOrg(orgId), preview.stack_id).catch(() => undefined);
          await this.tellForge(settings, preview);
        })().catch((err: unknown) =>
          this.logger.warn({ msg: "preview status post failed", previewId, err: String(err) }),
        );
      },
      async tellForge(settings: PreviewSettingsRow | undefined, preview: PreviewRow) {
        for (const call of await announcePreview(forge, config.stacks.masterKeys, settings, preview)) {
          const entry = {
            msg: "preview status posted",
            previewId: preview.id,
            call: call.call,
            statusCode: call.statusCode,
          };
          if (call.error) this.logger.warn({ ...entry, error: call.error });
          else this.logger.info(entry);
        }
      },
      destroyInBackground(orgId: string, previewId: string) {
        destroyPreview({ db, removal: runtime }, orgId, previewId).then(
          (done) => done && this.logger.info({ msg: "preview destroyed", previewId, reason: done.destroy_reason }),
          (err: unknown) => {
            const code = (err as { type?: unknown }).type;
            // Left `destroying`: the reaper claims it again after the lease.
            this.logger.warn({
              msg: "preview destroy failed; the reaper retries",
              previewId,
              code: typeof code === "string" ? code : "ERROR",
            });
          },
        );
      },
      /** A deployment ended: when it is a preview's, record it on the preview and tell the forge. */
      previewDeploymentEnded(deploymentId: string) {
        recordPreviewDeploymentEnd(db, deploymentId)
          .then((end) => (end ? this.tellForge(end.settings, end.preview) : undefined))
          .catch((err: unknown) => this.logger.warn({ msg: "preview update failed", deploymentId, err: String(err) }));
      },
      /** Ends builds no agent reports on any more, and continues previews whose build ended unnoticed. */
      async sweepBuilds() {
        try {
          const ended = await endLostBuilds(builds);
          for (const id of ended) this.logger.warn({ msg: "build lost: no end reported by its agent", buildId: id });
          for (const id of new Set([...ended, ...(await buildsAwaitedByEndedPreviews(db))])) this.previewBuildEnded(id);
        } catch (err) {
          this.logger.warn({ msg: "build sweep failed", err: String(err) });
        }
      },
      /** A build ended: when a preview waits for it, deploy the built release there (or fail it) and tell the forge. */
      previewBuildEnded(buildId: string) {
        continuePreviewAfterBuild(db, buildId)
          .then(async (next) => {
            if (!next) return;
            if (next.deploymentId) await this.enqueue(next.deploymentId);
            this.announce(next.preview.org_id, next.preview.id);
          })
          .catch((err: unknown) =>
            this.logger.warn({ msg: "preview update after its build failed", buildId, err: String(err) }),
          );
      },
      idempotencyKey(ctx: CallContext<unknown>): string | null {
        return (ctx.meta as { idempotencyKey?: string }).idempotencyKey ?? null;
      },
      async enqueue(deploymentId: string, msgID: string = deploymentId) {
        // The job carries the request id of the API call that made it, for the worker's log lines.
        const job: DeployJob = { deploymentId, requestId: currentRequestId() ?? null };
        await js.publish(deployJobSubject(deploymentId), new TextEncoder().encode(JSON.stringify(job)), { msgID });
      },
      /** A deployment AWAITING_APPROVAL is not the worker's yet: its approval enqueues it (decideApproval). */
      async enqueueIfPending(deployment: { id: string; status: string }) {
        if (deployment.status === "PENDING") await this.enqueue(deployment.id);
      },
      /**
       * Enqueues an automatic rollback, retrying a few times: its row is committed already, and a redelivered
       * failure does not create it again (one rollback per failed deployment), so this is its only dispatch.
       */
      async enqueueRollback(deploymentId: string) {
        for (let attempt = 1; ; attempt++) {
          try {
            await this.enqueue(deploymentId);
            return;
          } catch (err) {
            if (attempt >= ROLLBACK_ENQUEUE_ATTEMPTS) {
              this.logger.error({ msg: "could not enqueue the automatic rollback", deploymentId, error: String(err) });
              return;
            }
            await new Promise((r) => setTimeout(r, 500 * attempt));
          }
        }
      },
      broadcastEvents(deploymentId: string, events: DeploymentEventView[], status: string | null) {
        broadcastDeploymentEvents(this.broker, { deploymentId, events, status });
      },
      /**
       * Drains the agent events stream in batches: a batch closes a few ms after its first message, or, while the
       * previous batch is still being written, when that write ends, so that under load batches grow instead of
       * queueing up one small transaction after another. Batches are written one at a time, in order.
       */
      async runEventWriter() {
        const consumer = await js.consumers.get(AGENT_EVENTS_STREAM.name, EVENT_WRITERS_CONSUMER);
        writerMessages = await consumer.consume({ max_messages: 1_000, expires: CONSUME_EXPIRES_MS });
        let pending: PendingEvent[] = [];
        let writing = false;
        let scheduled = false;
        const flush = async () => {
          scheduled = false;
          writing = true;
          while (pending.length > 0) {
            const batch = pending;
            pending = [];
            await this.writeEventBatch(writer, batch);
          }
          writing = false;
        };
        for await (const m of writerMessages) {
          pending.push({ msg: { subject: m.subject, data: m.data }, ack: () => m.ack(), working: () => m.working() });
          if (!scheduled && !writing) {
            scheduled = true;
            setTimeout(() => void flush(), WRITER_BATCH_DELAY_MS);
          }
        }
      },
      /** Persists one batch (retried in place while Postgres is away), streams what was stored, then acks it. */
      async writeEventBatch(writer: DeploymentEventWriter, batch: PendingEvent[]) {
        try {
          // Retried in place while Postgres is away: later batches wait behind this one, so nothing is stored
          // past a gap and a terminal event is never applied before the events ahead of it.
          const written = await retryUntilWritten(() => writer.write(batch.map((b) => b.msg)), {
            initialDelayMs: 250,
            maxDelayMs: 5_000,
            stopped: () => writerStopped,
            onError: (err, attempt) => {
              if (attempt === 1 || attempt % 10 === 0)
                this.logger.error({
                  msg: "persisting deployment events failed; retrying",
                  attempt,
                  error: String(err),
                });
            },
            keepAlive: () => {
              for (const b of batch) b.working();
            },
          });
          if (written === null) return; // stopping: left unacked, JetStream redelivers them
          for (const w of written) this.broadcastEvents(w.deploymentId, w.events, w.status);
          for (const w of written) {
            if (w.status === null || !isTerminal(w.status)) continue;
            if (w.build) this.previewBuildEnded(w.deploymentId);
            else this.previewDeploymentEnded(w.deploymentId);
          }
          // Automatic rollbacks (failure policy): committed with the failure, dispatched like any deployment.
          for (const w of written) if (w.rollbackDeploymentId) await this.enqueueRollback(w.rollbackDeploymentId);
          for (const b of batch) b.ack();
        } catch (err) {
          // Not acked: JetStream redelivers after ack_wait, and the insert is idempotent.
          this.logger.error({ msg: "persisting deployment events failed", error: String(err) });
        }
      },
    },
    async started() {
      const identity = await loadNatsIdentity(config.nats.identityFile);
      nc = await connectNats(config.nats, config.nats.credsFile, "stackyard-deployments");
      js = nc.jetstream();
      const jsm = await nc.jetstreamManager();
      await ensureDeploymentStreams(jsm, config.nats.streamReplicas);
      const metricsDb = systemDb(db, "metrics");
      // One read of the server per scrape serves both backlog gauges.
      let backlog: Promise<ConsumerBacklog> | undefined;
      const readBacklog = async () => (backlog ??= consumerBacklog(jsm).finally(() => (backlog = undefined)));
      stopMetrics.push(
        deploymentsActive.register(() => activeDeploymentSamples(metricsDb)),
        jetstreamConsumerPending.register(async () => (await readBacklog()).pending),
        jetstreamConsumerAckPending.register(async () => (await readBacklog()).ackPending),
      );
      runtime = {
        nc,
        commandSigningSeed: identity.commandSigningSeed,
        statusTimeoutMs: config.deployments.statusTimeoutMs,
        offlineAfterSeconds: config.clusters.offlineAfterSeconds,
        scaleTimeoutMs: config.deployments.scaleTimeoutSeconds * 1000,
      };
      builds = {
        db,
        nc,
        commandSigningSeed: identity.commandSigningSeed,
        masterKeys: config.stacks.masterKeys,
        composeMaxBytes: config.stacks.composeMaxBytes,
        git: {
          options: {
            maxBytes: config.stacks.composeMaxBytes,
            timeoutMs: config.stacks.gitTimeoutMs,
            allowedSchemes: config.stacks.gitAllowedSchemes,
          },
          credentials: {
            masterKeys: config.stacks.masterKeys,
            hostPolicy: {
              blockPrivateNetworks: config.stacks.gitBlockPrivateNetworks,
              testAllowedHosts: config.stacks.gitTestAllowedHosts,
            },
            limiter: new OrgFetchLimiter(config.stacks.gitFetchConcurrencyPerOrg),
          },
        },
        dispatchTimeoutMs: config.deployments.dispatchTimeoutMs,
        concurrency: config.deployments.buildConcurrency,
        timeoutSeconds: config.deployments.buildTimeoutSeconds,
        onEvents: (id, events, status) => this.broadcastEvents(id, events, status),
      };
      reaper = new PreviewReaper({ db, removal: () => runtime }, config.previews.reaperTickMs, this.logger);
      reaper.start();
      buildSweep = setInterval(() => void this.sweepBuilds(), config.previews.reaperTickMs);
      buildSweep.unref();
      this.runEventWriter().catch((err: unknown) =>
        this.logger.error({ msg: "event writer stopped", error: String(err) }),
      );
    },
    async stopped() {
      await reaper?.stop();
      if (buildSweep) clearInterval(buildSweep);
      for (const stop of stopMetrics.splice(0)) stop();
      writerStopped = true;
      writerMessages?.stop();
      await nc?.drain();
    },
  };
}
