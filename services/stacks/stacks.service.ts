/**
 * stacks: stacks, environments, immutable releases, overlays, encrypted secrets, rendered desired state and
 * diffs. Who may call each action is declared in openapi.yaml (x-permission); each action is one call into logic.
 */
import type { ServiceSchema } from "moleculer";
import type { Config } from "../_shared/config.js";
import { listStacksOverview } from "./stack-overview.js";
import type { Db } from "../_shared/db.js";
import type { OpCtx } from "../_shared/rest.js";
import { actionScope } from "../_shared/service-context.js";
import {
  deleteEnvironmentSecret,
  diffEnvironment,
  getOverlay,
  listEnvironmentSecrets,
  putEnvironmentSecret,
  putOverlay,
  renderEnvironment,
} from "./environments.logic.js";
import {
  getClusterComposePolicy,
  getOrgComposePolicy,
  putClusterComposePolicy,
  putOrgComposePolicy,
} from "./compose-policy.logic.js";
import {
  createStackRelease,
  getStackRelease,
  listStackReleases,
  releaseSettingsFromConfig,
  type ReleaseSettings,
} from "./releases.logic.js";
import { MasterKeyGuard } from "./master-key-guard.js";
import { deleteStack, updateEnvironment, updateStack } from "./lifecycle.logic.js";
import { gitCredentialActions, verifyGitCredentialKeys, type GitCredentialSettings } from "./git-credentials/index.js";
import {
  attachRegistryCredential,
  createRegistryCredential,
  deleteRegistryCredential,
  detachRegistryCredential,
  listEnvironmentRegistryCredentials,
  listRegistryCredentials,
  updateRegistryCredential,
} from "./registry-credentials.logic.js";
import { verifyMasterKeys } from "./secrets-crypto.js";
import { createEnvironment, createStack, getEnvironment, getStack, listEnvironments } from "./stacks.logic.js";
import {
  createSyncSource,
  deleteSyncSource,
  getSyncSource,
  listSyncSources,
  forgetDelivery,
  receiveWebhook,
  setEnvironmentSync,
  type GitSyncSettings,
} from "./git-sync/git-sync.logic.js";
import { GitSyncPoller } from "./git-sync/poller.js";
import { verifyWebhookSecretKeys } from "./git-sync/sources.repo.js";
import { WEBHOOK_HEADERS, type WebhookHeaders } from "./git-sync/webhook-verify.js";
import type { WebhookMeta } from "./git-sync/public.js";
import type { PullRequestEvent } from "./git-sync/pull-request.js";
import type { CallContext } from "../_shared/principal.js";
import { GIT_SYNC_POLLED_EVENT, type GitSyncPolled } from "../_shared/bus-events.js";

interface PullRequestCall {
  orgId: string;
  sourceId: string;
  event: PullRequestEvent;
}
interface PullRequestAnswer {
  result: string;
  preview: unknown;
}

export interface StacksServiceDeps {
  config: Config;
  db: Db;
}

export function createStacksService({ config, db }: StacksServiceDeps): ServiceSchema {
  const keys = config.stacks.masterKeys;
  const releaseSettings: ReleaseSettings = releaseSettingsFromConfig(config);
  const gitCredentials: GitCredentialSettings = releaseSettings.gitCredentials;

  const syncSettings: GitSyncSettings = { release: releaseSettings, publicUrl: config.clusters.publicUrl };
  let poller: GitSyncPoller | undefined;

  const masterKey = new MasterKeyGuard(async () => {
    const secrets = await verifyMasterKeys(db, keys);
    const credentials = await verifyGitCredentialKeys(db, keys);
    const webhooks = await verifyWebhookSecretKeys(db, keys);
    return {
      checkedKeyIds: [...new Set([...secrets.checkedKeyIds, ...credentials.checkedKeyIds, ...webhooks.checkedKeyIds])],
    };
  });

  return {
    name: "stacks",
    actions: {
      createStack(ctx: OpCtx<"createStack">) {
        const { scope, principal, request } = actionScope(db, ctx);
        return createStack(scope, principal, ctx.params.body, request);
      },
      listStacks: (ctx: OpCtx<"listStacks">) =>
        listStacksOverview(actionScope(db, ctx).scope, config.clusters.offlineAfterSeconds),
      getStack: (ctx: OpCtx<"getStack">) => getStack(actionScope(db, ctx).scope, ctx.params.params.stackId),
      updateStack(ctx: OpCtx<"updateStack">) {
        const { scope, principal, request } = actionScope(db, ctx);
        return updateStack(scope, principal, ctx.params.params.stackId, ctx.params.body, request);
      },
      deleteStack(ctx: OpCtx<"deleteStack">) {
        const { scope, principal, request } = actionScope(db, ctx);
        return deleteStack(scope, principal, ctx.params.params.stackId, request);
      },

      createEnvironment(ctx: OpCtx<"createEnvironment">) {
        const { scope, principal, request } = actionScope(db, ctx);
        return createEnvironment(scope, principal, ctx.params.params.stackId, ctx.params.body, request);
      },
      listEnvironments: (ctx: OpCtx<"listEnvironments">) =>
        listEnvironments(actionScope(db, ctx).scope, ctx.params.params.stackId),
      getEnvironment: (ctx: OpCtx<"getEnvironment">) =>
        getEnvironment(actionScope(db, ctx).scope, ctx.params.params.envId),
      updateEnvironment(ctx: OpCtx<"updateEnvironment">) {
        const { scope, principal, request } = actionScope(db, ctx);
        return updateEnvironment(scope, principal, ctx.params.params.envId, ctx.params.body, request);
      },

      createRelease(ctx: OpCtx<"createRelease">) {
        const { scope, principal, request } = actionScope(db, ctx);
        return createStackRelease(
          scope,
          principal,
          ctx.params.params.stackId,
          ctx.params.body,
          releaseSettings,
          request,
        );
      },
      listReleases: (ctx: OpCtx<"listReleases">) =>
        listStackReleases(actionScope(db, ctx).scope, ctx.params.params.stackId, ctx.params.query),
      getRelease: (ctx: OpCtx<"getRelease">) =>
        getStackRelease(actionScope(db, ctx).scope, ctx.params.params.releaseId),

      getOverlay: (ctx: OpCtx<"getOverlay">) => getOverlay(actionScope(db, ctx).scope, ctx.params.params.envId),
      putOverlay(ctx: OpCtx<"putOverlay">) {
        const { scope, principal, request } = actionScope(db, ctx);
        return putOverlay(
          scope,
          principal,
          ctx.params.params.envId,
          ctx.params.body,
          releaseSettings.composeMaxBytes,
          request,
        );
      },

      async putSecret(ctx: OpCtx<"putSecret">) {
        const { scope, principal, request } = actionScope(db, ctx);
        masterKey.assertUsable();
        const { envId, name } = ctx.params.params;
        const result = await putEnvironmentSecret(scope, principal, envId, name, ctx.params.body, keys, request);
        // 201 for a new secret, the spec's default 200 for a rotation.
        if (result.created) ctx.meta.$statusCode = 201;
        return result;
      },
      listSecrets: (ctx: OpCtx<"listSecrets">) =>
        listEnvironmentSecrets(actionScope(db, ctx).scope, ctx.params.params.envId),
      deleteSecret(ctx: OpCtx<"deleteSecret">) {
        const { scope, principal, request } = actionScope(db, ctx);
        return deleteEnvironmentSecret(scope, principal, ctx.params.params.envId, ctx.params.params.name, request);
      },

      getComposePolicy: (ctx: OpCtx<"getComposePolicy">) => getOrgComposePolicy(actionScope(db, ctx).scope),
      putComposePolicy(ctx: OpCtx<"putComposePolicy">) {
        const { scope, principal, request } = actionScope(db, ctx);
        return putOrgComposePolicy(scope, principal, ctx.params.body, request);
      },
      getClusterComposePolicy: (ctx: OpCtx<"getClusterComposePolicy">) =>
        getClusterComposePolicy(actionScope(db, ctx).scope, ctx.params.params.clusterId),
      putClusterComposePolicy(ctx: OpCtx<"putClusterComposePolicy">) {
        const { scope, principal, request } = actionScope(db, ctx);
        return putClusterComposePolicy(scope, principal, ctx.params.params.clusterId, ctx.params.body, request);
      },
      listRegistryCredentials: (ctx: OpCtx<"listRegistryCredentials">) =>
        listRegistryCredentials(actionScope(db, ctx).scope),
      createRegistryCredential(ctx: OpCtx<"createRegistryCredential">) {
        const { scope, principal, request } = actionScope(db, ctx);
        masterKey.assertUsable();
        return createRegistryCredential(scope, principal, ctx.params.body, keys, request);
      },
      updateRegistryCredential(ctx: OpCtx<"updateRegistryCredential">) {
        const { scope, principal, request } = actionScope(db, ctx);
        masterKey.assertUsable();
        const { credentialId } = ctx.params.params;
        return updateRegistryCredential(scope, principal, credentialId, ctx.params.body, keys, request);
      },
      deleteRegistryCredential(ctx: OpCtx<"deleteRegistryCredential">) {
        const { scope, principal, request } = actionScope(db, ctx);
        return deleteRegistryCredential(scope, principal, ctx.params.params.credentialId, request);
      },
      listEnvironmentRegistryCredentials: (ctx: OpCtx<"listEnvironmentRegistryCredentials">) =>
        listEnvironmentRegistryCredentials(actionScope(db, ctx).scope, ctx.params.params.envId),
      attachRegistryCredential(ctx: OpCtx<"attachRegistryCredential">) {
        const { scope, principal, request } = actionScope(db, ctx);
        const { envId, credentialId } = ctx.params.params;
        return attachRegistryCredential(scope, principal, envId, credentialId, request);
      },
      detachRegistryCredential(ctx: OpCtx<"detachRegistryCredential">) {
        const { scope, principal, request } = actionScope(db, ctx);
        const { envId, credentialId } = ctx.params.params;
        return detachRegistryCredential(scope, principal, envId, credentialId, request);
      },

      render: (ctx: OpCtx<"renderEnvironment">) =>
        renderEnvironment(actionScope(db, ctx).scope, ctx.params.params.envId, ctx.params.query.releaseId),
      diff: (ctx: OpCtx<"diffEnvironment">) =>
        diffEnvironment(actionScope(db, ctx).scope, ctx.params.params.envId, ctx.params.query),

      ...gitCredentialActions(db, gitCredentials, masterKey),

      listSyncSources: (ctx: OpCtx<"listSyncSources">) =>
        listSyncSources(actionScope(db, ctx).scope, ctx.params.params.stackId, syncSettings.publicUrl),
      getSyncSource: (ctx: OpCtx<"getSyncSource">) =>
        getSyncSource(actionScope(db, ctx).scope, ctx.params.params.sourceId, syncSettings.publicUrl),
      createSyncSource(ctx: OpCtx<"createSyncSource">) {
        const { scope, principal, request } = actionScope(db, ctx);
        masterKey.assertUsable();
        return createSyncSource(scope, principal, ctx.params.params.stackId, ctx.params.body, syncSettings, request);
      },
      async deleteSyncSource(ctx: OpCtx<"deleteSyncSource">) {
        const { scope, principal, request } = actionScope(db, ctx);
        await deleteSyncSource(scope, principal, ctx.params.params.sourceId, request);
        return null;
      },
      async setEnvironmentSync(ctx: OpCtx<"setEnvironmentSync">) {
        const { scope, principal, request } = actionScope(db, ctx);
        const env = await setEnvironmentSync(scope, principal, ctx.params.params.envId, ctx.params.body, request);
        // The source was made due: poll it now; what it already released is deployed by the poll's hand-on.
        if (env.sync.sourceId) {
          const polled: GitSyncPolled = { orgId: scope.orgId, sourceId: env.sync.sourceId };
          await ctx.emit(GIT_SYNC_POLLED_EVENT, polled);
          poller?.kick();
        }
        return env;
      },
      async receiveGitWebhook(ctx: OpCtx<"receiveGitWebhook"> & CallContext<unknown>) {
        const meta = (ctx.meta as { webhook?: WebhookMeta }).webhook;
        const headers: WebhookHeaders = {};
        for (const name of WEBHOOK_HEADERS) headers[name] = meta?.headers[name];
        const outcome = await receiveWebhook(
          db,
          syncSettings,
          ctx.params.params.sourceId,
          headers,
          Buffer.from(meta?.bodyBase64 ?? "", "base64"),
        );
        if (outcome.status === "accepted" && outcome.pullRequest === null) poller?.kick();
        if (outcome.status !== "accepted" || outcome.pullRequest === null) return { status: outcome.status };
        try {
          // Previews act on it (deployments/previews); a refusal forgets the delivery, so a redelivery is handled.
          const preview = await ctx.call<PullRequestAnswer, PullRequestCall>("deployments.pullRequestEvent", {
            orgId: outcome.orgId,
            sourceId: outcome.sourceId,
            event: outcome.pullRequest,
          });
          return { status: outcome.status, preview };
        } catch (err) {
          await forgetDelivery(db, outcome.sourceId, outcome.deliveryId);
          throw err;
        }
      },
    },
    async started() {
      // A wrong CONTROLPLANE_MASTER_KEY must stop the process now, not fail the first deployment that needs a secret.
      await masterKey.start(this.logger);
      poller = new GitSyncPoller(
        db,
        syncSettings,
        config.stacks.gitSyncTickMs,
        async (outcome) => {
          const polled: GitSyncPolled = { orgId: outcome.orgId, sourceId: outcome.sourceId };
          await this.broker.emit(GIT_SYNC_POLLED_EVENT, polled);
        },
        this.logger,
      );
      poller.start();
    },
    async stopped() {
      masterKey.stop();
      await poller?.stop();
    },
  };
}
