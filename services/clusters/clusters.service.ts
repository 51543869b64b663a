/**
 * clusters: REST actions for clusters and agent registration, plus the agent link: heartbeats, inventory and
 * credential renewal consumed from NATS (queue groups, so any number of instances share the load).
 */
import { readFile } from "node:fs/promises";
import type { Msg, NatsConnection, Subscription } from "nats";
import { connectNats } from "../_shared/nats.js";
import type { ServiceSchema } from "moleculer";
import type { Config } from "../_shared/config.js";
import type { Db } from "../_shared/db.js";
import { requestInfo } from "../_shared/principal.js";
import { ServiceUnavailableError } from "../_shared/errors.js";
import { actionScope } from "../_shared/service-context.js";
import { systemDb } from "../_shared/tenant.js";
import { clustersByStatus } from "../_shared/metrics.js";
import { clusterStatusSamples } from "./metrics.js";
import type { OpCtx } from "../_shared/rest.js";
import type { NatsIdentity } from "../../nats/identity.js";
import {
  encodeRenewReply,
  MAX_DOCKER_EVENT_BYTES,
  MAX_REJECTION_REPORT_BYTES,
  validateMessage,
} from "../../nats/protocol/messages.js";
import { ActivityBatcher, listActivity, pruneActivity } from "./activity.js";
import { handOnClusterActivity } from "./activity-handoff.js";
import { AgentMessageDroppedError, decodeAgentMessage } from "./agent-messages.js";
import { acknowledgeSecurityWarning, listSecurityWarnings, recordCommandRejection } from "./security-warnings.js";
import { CONTROL_PLANE_SUBSCRIPTIONS } from "../../nats/protocol/subjects.js";
import { applyInventory, HeartbeatBatcher, isClusterId, recordGoodbye, sweepOffline } from "./agent-ingest.js";
import { updateClusterNode } from "./node-actions.js";
import { fetchWorkingLeafLinksIn } from "./leaf-links.js";
import { sweepLeafClusters } from "./leaf-status.js";
import { publicKeyOfSeed } from "../../nats/identity.js";
import { AgentUnreachableError } from "../_shared/agent-commands.js";
import {
  accountRevocations,
  createCluster,
  getCluster,
  issueNewRegistrationToken,
  listClusters,
  listNodes,
  registerAgent,
  registeredAgentKey,
  renewAgentCredential,
  revokeCluster,
  type ClustersSettings,
} from "./clusters.logic.js";
import {
  createIntegrationCredential,
  listIntegrationCredentials,
  revokeIntegrationCredential,
} from "./integration-credentials.js";
import { publishClusterStatusChanges } from "./integration-events.js";
import { createLiveCredential, pruneLiveCredentials, revokeLiveCredentials } from "./live-credentials.js";
import { CREDENTIALS_REVOKED_EVENT, type CredentialsRevoked } from "../_shared/bus-events.js";
import type { Context } from "moleculer";
import { loadNatsIdentity, pushAccountRevocations } from "./nats-admin.js";
import { ensureOrgAccount, orgAccountIds, orgAccountPublicKeys, pushOrgAccount } from "./org-accounts.js";
import { answerRenewal } from "./renewal.js";
import { createLeafSourceKeeper } from "../deployments/index.js";
import { listClusterServices } from "./cluster-services.js";

export const HEARTBEAT_FLUSH_MS = 1_000;
export const OFFLINE_SWEEP_MS = 5_000;
export const ACTIVITY_FLUSH_MS = 1_000;
export const LIVE_PRUNE_MS = 10 * 60_000;
/** After a failed revocation push at start or reconnect, the next try. */
export const REVOCATION_RETRY_MS = 5_000;
const QUEUE = "stackyard-clusters";

/** An account push, retried: the server ignores (and answers an error for) a JWT not newer than the one it holds. */
async function retryPush(push: () => Promise<void>): Promise<void> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await push();
      return;
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 1_100));
    }
  }
  throw lastError;
}

export function createClustersService({ config, db }: { config: Config; db: Db }): ServiceSchema {
  const settings: ClustersSettings = {
    publicUrl: config.clusters.publicUrl,
    agentImage: config.clusters.agentImage,
    agentNatsUrls: config.nats.agentUrls,
    registrationTokenTtlSeconds: config.clusters.registrationTokenTtlSeconds,
    agentCredentialTtlSeconds: config.clusters.agentCredentialTtlSeconds,
    offlineAfterSeconds: config.clusters.offlineAfterSeconds,
  };
  let identity: NatsIdentity;
  let link: NatsConnection | undefined;
  let system: NatsConnection | undefined;
  const subscriptions: Subscription[] = [];
  const timers: NodeJS.Timeout[] = [];
  let stopMetrics: (() => void) | undefined;
  // Agent ingest acts for no caller: it finds the cluster (and so the org) in the subject.
  const ingestDb = systemDb(db, "agent-ingest");
  const heartbeats = new HeartbeatBatcher(ingestDb, publishClusterStatusChanges);
  // Agents in leaf mode buffer deployment events in their leaf's JetStream: the hub's events stream sources them.
  let leafSources: ReturnType<typeof createLeafSourceKeeper> | undefined;
  const activity = new ActivityBatcher(ingestDb);
  const retention = {
    maxRowsPerCluster: config.clusters.activityMaxRowsPerCluster,
    maxAgeSeconds: config.clusters.activityMaxAgeSeconds,
  };
  let revocationRetry: NodeJS.Timeout | undefined;
  let stopping = false;
  const decoder = new TextDecoder();

  return {
    name: "clusters",
    actions: {
      create(ctx: OpCtx<"createCluster">) {
        const { scope, principal, request } = actionScope(db, ctx);
        return createCluster(scope, principal, ctx.params.body, settings, request);
      },
      list: (ctx: OpCtx<"listClusters">) => listClusters(actionScope(db, ctx).scope, settings),
      get: (ctx: OpCtx<"getCluster">) => getCluster(actionScope(db, ctx).scope, ctx.params.params.clusterId, settings),
      nodes: (ctx: OpCtx<"listClusterNodes">) => listNodes(actionScope(db, ctx).scope, ctx.params.params.clusterId),
      services: (ctx: OpCtx<"listClusterServices">) =>
        listClusterServices(actionScope(db, ctx).scope, ctx.params.params.clusterId),
      updateNode(ctx: OpCtx<"updateClusterNode">) {
        const { scope, principal, request } = actionScope(db, ctx);
        if (!link) throw new AgentUnreachableError("the control plane is not connected to NATS");
        const { clusterId, nodeId } = ctx.params.params;
        return updateClusterNode(
          { nc: link, commandSigningSeed: identity.commandSigningSeed },
          scope,
          principal,
          { clusterId, nodeId, change: ctx.params.body },
          request,
        );
      },
      activity: (ctx: OpCtx<"listClusterActivity">) =>
        listActivity(actionScope(db, ctx).scope, ctx.params.params.clusterId, {
          limit: ctx.params.query.limit ?? 50,
          before: ctx.params.query.before,
        }),
      securityWarnings: (ctx: OpCtx<"listClusterSecurityWarnings">) =>
        listSecurityWarnings(actionScope(db, ctx).scope, ctx.params.params.clusterId, {
          includeAcknowledged: ctx.params.query.includeAcknowledged === true,
          limit: ctx.params.query.limit ?? 50,
        }),
      acknowledgeSecurityWarning(ctx: OpCtx<"acknowledgeClusterSecurityWarning">) {
        const { scope, principal, request } = actionScope(db, ctx);
        const { clusterId, warningId } = ctx.params.params;
        return acknowledgeSecurityWarning(scope, principal, clusterId, warningId, request);
      },
      registrationToken(ctx: OpCtx<"issueRegistrationToken">) {
        const { scope, principal, request } = actionScope(db, ctx);
        return issueNewRegistrationToken(scope, principal, ctx.params.params.clusterId, settings, request);
      },
      async revoke(ctx: OpCtx<"revokeCluster">) {
        const { scope, principal, request } = actionScope(db, ctx);
        const result = await revokeCluster(scope, principal, ctx.params.params.clusterId, settings, request, {
          delete: false,
        });
        await this.pushRevocations(scope.orgId);
        return result.cluster;
      },
      async remove(ctx: OpCtx<"deleteCluster">) {
        const { scope, principal, request } = actionScope(db, ctx);
        const result = await revokeCluster(scope, principal, ctx.params.params.clusterId, settings, request, {
          delete: true,
        });
        await this.pushRevocations(scope.orgId);
        return result.cluster;
      },
      async createIntegrationCredential(ctx: OpCtx<"createIntegrationCredential">) {
        const { scope, principal, request } = actionScope(db, ctx);
        const connection = { natsUrls: settings.agentNatsUrls, natsCa: settings.agentNatsCa };
        await this.ensureOrgAccount(scope.orgId);
        return createIntegrationCredential(scope, principal, ctx.params.body, identity, connection, request);
      },
      async createLiveCredential(ctx: OpCtx<"createLiveCredential">) {
        const { scope, principal } = actionScope(db, ctx);
        if (config.nats.wsUrl !== undefined) await this.ensureOrgAccount(scope.orgId);
        return createLiveCredential(scope, principal, ctx.params.body, identity, {
          available: config.nats.wsUrl !== undefined,
        });
      },
      listIntegrationCredentials: (ctx: OpCtx<"listIntegrationCredentials">) =>
        listIntegrationCredentials(actionScope(db, ctx).scope),
      async revokeIntegrationCredential(ctx: OpCtx<"revokeIntegrationCredential">) {
        const { scope, principal, request } = actionScope(db, ctx);
        const result = await revokeIntegrationCredential(scope, principal, ctx.params.params.credentialId, request);
        if (result.changed) await this.pushRevocations(scope.orgId);
        return result.credential;
      },
      async register(ctx: OpCtx<"registerAgent">) {
        const result = await registerAgent(db, identity, ctx.params.body, settings, requestInfo(ctx), {
          beforeMint: (orgId) => this.pushOrgAccountNow(orgId),
        });
        if (result.replacedKeys.length > 0) await this.pushRevocations(result.orgAccount ?? undefined);
        return result.response;
      },
    },
    events: {
      /** A session, user or token ended: so do its browsers' live connections (their keys are revoked on NATS). */
      async [CREDENTIALS_REVOKED_EVENT](ctx: Context<CredentialsRevoked>) {
        try {
          for (const orgId of await revokeLiveCredentials(db, ctx.params)) await this.pushRevocations(orgId);
        } catch (err) {
          this.logger.error({ msg: "live credentials not revoked", error: String(err) });
        }
      },
    },
    methods: {
      /**
       * Pushes the complete revocation list of the application account, then the account of `orgId` (or of every
       * org, at start and after a reconnect); retried because the server ignores an update that is not newer.
       */
      async pushRevocations(orgId?: string): Promise<void> {
        const sys = system;
        if (!sys) throw new Error("system NATS connection is not open");
        await retryPush(async () => pushAccountRevocations(sys, identity, await accountRevocations(db)));
        for (const org of orgId ? [orgId] : await orgAccountIds(db)) {
          await retryPush(() => pushOrgAccount(sys, db, identity, org));
        }
      },
      /**
       * Records and pushes the org's account now, whatever the server holds (a registration or renewal adds a
       * cluster's imports). A failure is a 503: nothing was handed out, the caller may try again.
       */
      async pushOrgAccountNow(orgId: string): Promise<void> {
        const sys = system;
        if (!sys) throw new ServiceUnavailableError("NATS_UNAVAILABLE", "the control plane is not connected to NATS");
        await ensureOrgAccount(db, identity, orgId);
        try {
          await retryPush(() => pushOrgAccount(sys, db, identity, orgId));
        } catch (err) {
          this.logger.error({ msg: "pushing an org's NATS account failed", orgId, error: String(err) });
          throw new ServiceUnavailableError("NATS_ACCOUNT_PUSH_FAILED", "the org's NATS account could not be updated");
        }
      },
      /** Makes sure the org's account exists on the NATS server before a credential of it is handed out. */
      async ensureOrgAccount(orgId: string): Promise<void> {
        const sys = system;
        if (!sys) throw new Error("system NATS connection is not open");
        if (await ensureOrgAccount(db, identity, orgId))
          await retryPush(() => pushOrgAccount(sys, db, identity, orgId));
      },
      /**
       * Pushes the database's revocations; when that fails (Postgres down at start, say) it retries in the background
       * until it succeeds, so the service still starts and /readyz can say what is wrong.
       */
      async reconcileRevocations(reason: string): Promise<void> {
        clearTimeout(revocationRetry);
        try {
          await this.pushRevocations();
        } catch (err) {
          if (stopping) return;
          this.logger.error({
            msg: `pushing revocations (${reason}) failed; retrying`,
            error: String(err),
            retryInMs: REVOCATION_RETRY_MS,
          });
          revocationRetry = setTimeout(() => void this.reconcileRevocations(reason), REVOCATION_RETRY_MS);
        }
      },
      async onHeartbeat({ subject, data }: Msg) {
        const clusterId = subject.split(".")[1] ?? "";
        if (!isClusterId(clusterId)) return;
        const hb = validateMessage("Heartbeat", JSON.parse(decoder.decode(data)));
        if (hb.clusterId !== clusterId) return;
        heartbeats.add(clusterId, hb);
        if (hb.natsMode === "leaf") void leafSources?.seen(clusterId);
        if (heartbeats.size >= 1_000) await heartbeats.flush();
      },
      async onGoodbye({ subject, data }: Msg) {
        const clusterId = subject.split(".")[1] ?? "";
        if (!isClusterId(clusterId)) return;
        const goodbye = validateMessage("Goodbye", JSON.parse(decoder.decode(data)));
        if (goodbye.clusterId !== clusterId) return;
        heartbeats.forget(clusterId);
        publishClusterStatusChanges(await recordGoodbye(ingestDb, clusterId));
      },
      async onInventory({ subject, data }: Msg) {
        const clusterId = subject.split(".")[1] ?? "";
        if (!isClusterId(clusterId)) return;
        const inventory = validateMessage("Inventory", JSON.parse(decoder.decode(data)));
        if (inventory.clusterId !== clusterId) return;
        const outcome = await applyInventory(ingestDb, clusterId, inventory);
        if (outcome.statusChange) publishClusterStatusChanges([outcome.statusChange]);
      },
      /** A Docker event: validated, then buffered for the next batched insert. */
      async onDockerEvent({ subject, data }: Msg) {
        const clusterId = subject.split(".")[1] ?? "";
        if (!isClusterId(clusterId)) return;
        activity.add(decodeAgentMessage("DockerEvent", clusterId, data, MAX_DOCKER_EVENT_BYTES));
        if (activity.size >= 1_000) await this.flushActivity();
      },
      /** A command the agent refused before running it: a security warning on the cluster (and an audit event). */
      async onCommandRejected({ subject, data }: Msg) {
        const clusterId = subject.split(".")[1] ?? "";
        if (!isClusterId(clusterId)) return;
        const report = decodeAgentMessage("CommandRejectionReport", clusterId, data, MAX_REJECTION_REPORT_BYTES);
        const recorded = await recordCommandRejection(ingestDb, clusterId, report);
        if (!recorded) return;
        this.logger.warn({
          msg: "agent refused a command: security warning",
          clusterId,
          code: report.code,
          commandType: report.type,
          commandId: report.commandId,
          warningId: recorded.warning.id,
          count: recorded.warning.count,
        });
        handOnClusterActivity(this.broker, [], [{ ...recorded.warning, orgId: recorded.orgId }]);
      },
      async flushActivity() {
        const rows = await activity.flush();
        if (rows.length > 0) handOnClusterActivity(this.broker, rows);
      },
      /** Answers a renewal request; every reply, refusals included, goes through the protocol's encoder. */
      async onRenew(msg: Msg) {
        const reply = await answerRenewal(msg.subject, msg.data, {
          registeredAgentKey: (clusterId) => registeredAgentKey(ingestDb, clusterId),
          renew: (clusterId, publicKey, natsAccount) =>
            renewAgentCredential(ingestDb, identity, clusterId, publicKey, settings.agentCredentialTtlSeconds, {
              orgAccount: natsAccount === "org",
              beforeMint: (orgId) => this.pushOrgAccountNow(orgId),
            }),
          now: Date.now,
        });
        if (!reply.ok) {
          this.logger.warn({
            msg: "agent message rejected",
            subject: msg.subject,
            code: reply.code,
            reason: reply.reason,
          });
        }
        if (msg.reply) msg.respond(encodeRenewReply(reply));
      },
      subscribe(subject: string, handler: (msg: Msg) => Promise<unknown>) {
        if (!link) return;
        const sub = link.subscribe(subject, {
          queue: QUEUE,
          callback: (err, msg) => {
            if (err) return;
            handler(msg).catch((error: unknown) => {
              if (error instanceof AgentMessageDroppedError) {
                // Never the payload: it is the agent's, possibly hostile, and may be huge.
                this.logger.warn({
                  msg: "agent message dropped",
                  subject: msg.subject,
                  code: error.code,
                  reason: error.message,
                  bytes: error.bytes,
                });
                return;
              }
              const e = error as { type?: string; code?: string; message?: string };
              this.logger.warn({
                msg: "agent message rejected",
                subject: msg.subject,
                code: e.type ?? e.code,
                reason: e.message,
              });
            });
          },
        });
        subscriptions.push(sub);
      },
    },
    async started() {
      identity = await loadNatsIdentity(config.nats.identityFile);
      if (config.nats.tlsCaFile) settings.agentNatsCa = await readFile(config.nats.tlsCaFile, "utf8");
      link = await connectNats(config.nats, config.nats.credsFile, "stackyard-clusters");
      system = await connectNats(config.nats, config.nats.systemCredsFile, "stackyard-clusters-system");
      const jsLink = link;
      leafSources = createLeafSourceKeeper({
        jsm: () => jsLink.jetstreamManager(),
        onAdded: (clusterId) => this.logger.info({ msg: "leaf events stream sourced", clusterId }),
        onError: (clusterId, error) =>
          this.logger.warn({
            msg: "sourcing a leaf's events stream failed; retried at its next heartbeat",
            clusterId,
            error: String(error),
          }),
      });
      // The server keeps pushed account JWTs in its resolver directory; a lost or fresh one would fall back to
      // the preloaded JWT, which revokes nobody. So the database's revocations are pushed at every start and after
      // every reconnect (the server may have restarted), before any agent message is handled.
      await this.reconcileRevocations("start");
      const sys = system;
      void (async () => {
        for await (const status of sys.status()) {
          if (status.type === "reconnect") await this.reconcileRevocations("NATS reconnect");
        }
      })();
      const metricsDb = systemDb(db, "metrics");
      stopMetrics = clustersByStatus.register(() => clusterStatusSamples(metricsDb, settings.offlineAfterSeconds));
      // Refusal reports are recorded one at a time, in arrival order: concurrent upserts of one warning could
      // commit out of order and leave an older reason as the latest. They are rare (and rate-limited per agent).
      let rejections: Promise<unknown> = Promise.resolve();
      const handlers: Record<string, (msg: Msg) => Promise<unknown>> = {
        heartbeat: (msg) => this.onHeartbeat(msg),
        goodbye: (msg) => this.onGoodbye(msg),
        inventory: (msg) => this.onInventory(msg),
        renew: (msg) => this.onRenew(msg),
        "docker-events": (msg) => this.onDockerEvent(msg),
        rejected: (msg) => {
          const recorded = rejections.then(() => this.onCommandRejected(msg));
          rejections = recorded.catch(() => undefined);
          return recorded;
        },
      };
      // One subscription for all agent messages: a hub forwards a leaf's messages only for interest its
      // credentials cover, and `agent.>` covers `agent.<clusterId>.>` where `agent.*.heartbeat` does not
      // (nats/protocol/subjects.ts). Command replies (`agent.<id>.reply.…`) have no handler here.
      this.subscribe(CONTROL_PLANE_SUBSCRIPTIONS.all, async (msg: Msg) => {
        const parts = msg.subject.split(".");
        const handler = parts.length === 3 ? handlers[parts[2]!] : undefined;
        if (handler) await handler(msg);
      });
      await link.flush();
      const onError = (what: string) => (err: unknown) =>
        this.logger.error({ msg: `${what} failed`, error: String(err) });
      timers.push(setInterval(() => heartbeats.flush().catch(onError("heartbeat flush")), HEARTBEAT_FLUSH_MS));
      const appAccount = publicKeyOfSeed(identity.appAccountSeed);
      const sweepSilent = async () => {
        publishClusterStatusChanges(await sweepOffline(ingestDb, settings.offlineAfterSeconds));
        publishClusterStatusChanges(
          await sweepLeafClusters(
            ingestDb,
            settings.offlineAfterSeconds,
            async () => fetchWorkingLeafLinksIn(sys, [appAccount, ...(await orgAccountPublicKeys(db))]),
            (error) =>
              this.logger.warn({
                msg: "the hub's leaf links are unknown: silent leaf clusters are shown offline",
                error: String(error),
              }),
          ),
        );
      };
      timers.push(setInterval(() => sweepSilent().catch(onError("offline sweep")), OFFLINE_SWEEP_MS));
      timers.push(setInterval(() => this.flushActivity().catch(onError("activity flush")), ACTIVITY_FLUSH_MS));
      timers.push(setInterval(() => pruneLiveCredentials(db).catch(onError("live credential pruning")), LIVE_PRUNE_MS));
      timers.push(
        setInterval(
          () =>
            pruneActivity(ingestDb, retention)
              .then((deleted) => {
                if (deleted > 0) this.logger.info({ msg: "cluster activity pruned", deleted, ...retention });
                if (activity.dropped > 0) {
                  this.logger.warn({ msg: "cluster activity dropped: buffer full", dropped: activity.dropped });
                  activity.dropped = 0;
                }
              })
              .catch(onError("activity retention")),
          config.clusters.activityPruneIntervalMs,
        ),
      );
    },
    async stopped() {
      stopping = true;
      stopMetrics?.();
      clearTimeout(revocationRetry);
      for (const t of timers) clearInterval(t);
      for (const s of subscriptions) s.unsubscribe();
      await heartbeats.flush().catch(() => undefined);
      await this.flushActivity().catch(() => undefined);
      await link?.drain();
      await system?.close();
    },
  };
}
