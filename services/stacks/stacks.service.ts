/**
 * stacks: stacks, environments, immutable releases, overlays, encrypted secrets, rendered desired state and
 * diffs. Who may call each action is declared in openapi.yaml (x-permission); each action is one call into logic.
 */
import type { ServiceSchema } from "moleculer";
import type { Config } from "../_shared/config.js";
import type { Db } from "../_shared/db.js";
import type { CallContext } from "../_shared/principal.js";
import { actionScope } from "../_shared/service-context.js";
import type { RestParams } from "../api/routes.js";
import {
  deleteEnvironmentSecret,
  diffEnvironment,
  getOverlay,
  listEnvironmentSecrets,
  putEnvironmentSecret,
  putOverlay,
  renderEnvironment,
  type DiffQuery,
  type OverlayInput,
  type SecretInput,
} from "./environments.logic.js";
import {
  createStackRelease,
  getStackRelease,
  listStackReleases,
  type CreateReleaseBody,
  type ReleaseSettings,
} from "./releases.logic.js";
import { MasterKeyGuard } from "./master-key-guard.js";
import { verifyMasterKeys } from "./secrets-crypto.js";
import {
  createEnvironment,
  createStack,
  getEnvironment,
  getStack,
  listEnvironments,
  listStacks,
  type CreateEnvironmentInput,
  type CreateStackInput,
} from "./stacks.logic.js";

export interface StacksServiceDeps {
  config: Config;
  db: Db;
}

type Ctx<B = unknown, Q = Record<string, unknown>, P = Record<string, string>> = CallContext<RestParams<B, Q, P>>;
type StackParams = { stackId: string };
type EnvParams = { envId: string };
type SecretParams = { envId: string; name: string };

export function createStacksService({ config, db }: StacksServiceDeps): ServiceSchema {
  const keys = config.stacks.masterKeys;
  const releaseSettings: ReleaseSettings = {
    composeMaxBytes: config.stacks.composeMaxBytes,
    gitTimeoutMs: config.stacks.gitTimeoutMs,
    gitAllowedSchemes: config.stacks.gitAllowedSchemes,
  };

  const masterKey = new MasterKeyGuard(() => verifyMasterKeys(db, keys));

  return {
    name: "stacks",
    actions: {
      createStack(ctx: Ctx<CreateStackInput>) {
        const { scope, principal, request } = actionScope(db, ctx);
        return createStack(scope, principal, ctx.params.body, request);
      },
      listStacks: (ctx: Ctx) => listStacks(actionScope(db, ctx).scope),
      getStack: (ctx: Ctx<unknown, Record<string, unknown>, StackParams>) =>
        getStack(actionScope(db, ctx).scope, ctx.params.params.stackId),

      createEnvironment(ctx: Ctx<CreateEnvironmentInput, Record<string, unknown>, StackParams>) {
        const { scope, principal, request } = actionScope(db, ctx);
        return createEnvironment(scope, principal, ctx.params.params.stackId, ctx.params.body, request);
      },
      listEnvironments: (ctx: Ctx<unknown, Record<string, unknown>, StackParams>) =>
        listEnvironments(actionScope(db, ctx).scope, ctx.params.params.stackId),
      getEnvironment: (ctx: Ctx<unknown, Record<string, unknown>, EnvParams>) =>
        getEnvironment(actionScope(db, ctx).scope, ctx.params.params.envId),

      createRelease(ctx: Ctx<CreateReleaseBody, Record<string, unknown>, StackParams>) {
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
      listReleases: (ctx: Ctx<unknown, { limit?: number; beforeVersion?: number }, StackParams>) =>
        listStackReleases(actionScope(db, ctx).scope, ctx.params.params.stackId, ctx.params.query),
      getRelease: (ctx: Ctx<unknown, Record<string, unknown>, { releaseId: string }>) =>
        getStackRelease(actionScope(db, ctx).scope, ctx.params.params.releaseId),

      getOverlay: (ctx: Ctx<unknown, Record<string, unknown>, EnvParams>) =>
        getOverlay(actionScope(db, ctx).scope, ctx.params.params.envId),
      putOverlay(ctx: Ctx<OverlayInput, Record<string, unknown>, EnvParams>) {
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

      async putSecret(ctx: Ctx<SecretInput, Record<string, unknown>, SecretParams>) {
        const { scope, principal, request } = actionScope(db, ctx);
        masterKey.assertUsable();
        const { envId, name } = ctx.params.params;
        const result = await putEnvironmentSecret(scope, principal, envId, name, ctx.params.body, keys, request);
        // 201 for a new secret, the spec's default 200 for a rotation.
        if (result.created) ctx.meta.$statusCode = 201;
        return result;
      },
      listSecrets: (ctx: Ctx<unknown, Record<string, unknown>, EnvParams>) =>
        listEnvironmentSecrets(actionScope(db, ctx).scope, ctx.params.params.envId),
      deleteSecret(ctx: Ctx<unknown, Record<string, unknown>, SecretParams>) {
        const { scope, principal, request } = actionScope(db, ctx);
        return deleteEnvironmentSecret(scope, principal, ctx.params.params.envId, ctx.params.params.name, request);
      },

      render: (ctx: Ctx<unknown, { releaseId?: string }, EnvParams>) =>
        renderEnvironment(actionScope(db, ctx).scope, ctx.params.params.envId, ctx.params.query.releaseId),
      diff: (ctx: Ctx<unknown, DiffQuery, EnvParams>) =>
        diffEnvironment(actionScope(db, ctx).scope, ctx.params.params.envId, ctx.params.query),
    },
    async started() {
      // A wrong CONTROLPLANE_MASTER_KEY must stop the process now, not fail the first deployment that needs a secret.
      await masterKey.start(this.logger);
    },
    stopped() {
      masterKey.stop();
    },
  };
}
