/**
 * What a deployment sends to the agent: the release rendered for its environment (overlay patch, env vars,
 * versioned secret references) plus the secret values, decrypted in memory only to be sealed at once to the
 * cluster's agent key (nats/protocol/sealing.ts): no value leaves this process in the clear.
 */
import { renderIngressFor } from "../ingress/index.js";
import { systemScope } from "../_shared/tenant.js";
import type { Db } from "../_shared/db.js";
import { UnprocessableError } from "../_shared/errors.js";
import type { MasterKeys } from "../_shared/master-keys.js";
import {
  checkComposePolicy,
  COMPOSE_POLICY_VIOLATION,
  composePolicyForCluster,
  loadRegistryLogins,
  loadSecretValues,
  manifestHealthGrace,
  manifestHooks,
  ownershipLabels,
  policyMessage,
  renderDesiredState,
  type Manifest,
  type PolicyViolation,
} from "../stacks/index.js";
import type { DeployStack } from "../../nats/protocol/messages.js";
import type { DeployHookPayload } from "../../nats/protocol/commands/DeployStack.js";

import { seal } from "../../nats/protocol/sealing.js";
import { agentSealPublicKey } from "../clusters/index.js";
import type { ImagePin } from "../../nats/protocol/image-pins.js";
import { pinImages, pinsForRelease, pinsOfPromotionSource } from "./image-pinning.js";

export interface DeploymentContext {
  deploymentId: string;
  orgId: string;
  environmentId: string;
  clusterId: string;
  stackName: string;
  /** The environment's Swarm stack: what `docker stack deploy` and every Swarm object name use. */
  swarmStack: string;
  /** The deployment may take over a Swarm stack whose services are not labelled as this environment's. */
  adopt: boolean;
  /** A rollback goes to the agent as RollbackStack, a deploy as DeployStack; both render the same way. */
  kind: "deploy" | "rollback";
  releaseId: string;
  releaseVersion: number;
  composeYaml: string;
  /** The release manifest's deploy timeout when it sets one, else the environment's. */
  timeoutSeconds: number;
  /** The release's hooks (stackyard.yaml), in the order they run. */
  hooks: DeployHookPayload[];
  /** The release manifest (stackyard.yaml), for what the payload takes from it per service; null: none. */
  manifest: Manifest | null;
  /** environments.replica_overrides as the deployment is dispatched. */
  replicaOverrides: Record<string, number>;
  /** environments.image_resolution: `docker stack deploy --resolve-image`. */
  imageResolution: DeployStack["resolveImage"];
}

/** Everything about a deployment the worker needs, in one query (installation-wide: the job names the id). */
export async function loadDeploymentContext(db: Db, deploymentId: string): Promise<DeploymentContext | null> {
  const row = await db("deployments as d")
    .join("environments as e", "e.id", "d.environment_id")
    .join("stacks as s", "s.id", "e.stack_id")
    .join("stack_releases as r", "r.id", "d.release_id")
    .where("d.id", deploymentId)
    .first<
      | {
          org_id: string;
          environment_id: string;
          cluster_id: string;
          stack_name: string;
          swarm_stack: string;
          adopt: boolean;
          kind: "deploy" | "rollback";
          release_id: string;
          version: number;
          compose_yaml: string;
          manifest_json: Manifest | null;
          deploy_timeout_seconds: number;
          replica_overrides: Record<string, number> | null;
          image_resolution: DeployStack["resolveImage"];
        }
      | undefined
    >(
      "d.org_id",
      "d.environment_id",
      "e.cluster_id",
      "s.name as stack_name",
      "e.swarm_stack",
      "d.adopt",
      "d.kind",
      "d.release_id",
      "r.version",
      "r.compose_yaml",
      "r.manifest_json",
      "e.deploy_timeout_seconds",
      "e.replica_overrides",
      "e.image_resolution",
    );
  if (!row) return null;
  return {
    deploymentId,
    orgId: row.org_id,
    environmentId: row.environment_id,
    clusterId: row.cluster_id,
    stackName: row.stack_name,
    swarmStack: row.swarm_stack,
    adopt: row.adopt,
    kind: row.kind,
    releaseId: row.release_id,
    releaseVersion: row.version,
    composeYaml: row.compose_yaml,
    timeoutSeconds: row.manifest_json?.deploy?.timeoutSeconds ?? row.deploy_timeout_seconds,
    hooks: manifestHooks(row.manifest_json),
    manifest: row.manifest_json,
    replicaOverrides: row.replica_overrides ?? {},
    imageResolution: row.image_resolution,
  };
}

/** The rendered state breaks the cluster's compose policy as it is now: nothing is sent to the agent. */
export class DeployPolicyRefusedError extends UnprocessableError {
  constructor(readonly violations: PolicyViolation[]) {
    super(
      COMPOSE_POLICY_VIOLATION,
      `refused before dispatch: ${policyMessage(violations, "cluster's compose policy")}`,
      {
        violations,
      },
    );
  }
}

export interface DeployCommand {
  payload: Omit<DeployStack, "firstSeq">;
  /** Every secret value in the command, for masking output. */
  secretValues: string[];
  /** The images pinned from an earlier deployment of the same release here (image-pinning.ts); null when none. */
  pinned: { fromDeploymentId: string; images: ImagePin[] } | null;
}

export async function buildDeployCommand(
  db: Db,
  keys: MasterKeys,
  ctx: DeploymentContext,
  previousServices: string[] | null,
  options: { keepSecretVersions: number },
): Promise<DeployCommand> {
  const scope = systemScope(db, ctx.orgId, "deploy-worker");
  // Every read starts at once, each on a pool connection of its own: a dispatch's latency was mostly these
  // round trips one after another (bench/dispatch.bench.ts). They are awaited in the order they are used, so a
  // failure surfaces as it did when they ran in turn.
  const reads = {
    overlay: handled(
      scope
        .from("stack_overlays")
        .where({ environment_id: ctx.environmentId })
        .first<{ env_json: unknown; compose_patch_yaml: string } | undefined>("env_json", "compose_patch_yaml"),
    ),
    secrets: handled(loadSecretValues(scope, ctx.environmentId, keys)),
    ingress: handled(renderIngressFor(scope, { id: ctx.environmentId, cluster_id: ctx.clusterId })),
    policy: handled(composePolicyForCluster(scope, ctx.clusterId)),
    logins: handled(loadRegistryLogins(scope, ctx.environmentId, keys)),
    sealKey: handled(agentSealPublicKey(db, ctx.clusterId)),
    promotionPins: handled(pinsOfPromotionSource(db, ctx.deploymentId)),
    releasePins: handled(pinsForRelease(db, ctx.environmentId, ctx.releaseId, ctx.deploymentId)),
  };
  const overlay = await reads.overlay;
  const secrets = await reads.secrets;
  const ingress = await reads.ingress;
  const ownership = {
    orgId: ctx.orgId,
    environmentId: ctx.environmentId,
    releaseId: ctx.releaseId,
    deploymentId: ctx.deploymentId,
  };
  let rendered;
  try {
    rendered = renderDesiredState({
      swarmStack: ctx.swarmStack,
      ownership,
      releaseCompose: ctx.composeYaml,
      overlay: { envJson: overlay?.env_json ?? {}, composePatchYaml: overlay?.compose_patch_yaml ?? "" },
      replicaOverrides: ctx.replicaOverrides,
      ...(ingress ? { ingress } : {}),
      secrets: secrets.map((s) => ({
        id: s.id,
        name: s.name,
        version: s.version,
        contentDigest: s.contentDigest,
        services: s.services,
      })),
    });
  } catch (err) {
    throw new UnprocessableError("RENDER_FAILED", `the desired state cannot be rendered: ${(err as Error).message}`);
  }
  // Checked on what would be sent (release + overlay), under the policy as it is now, not as it was at upload.
  const violations = checkComposePolicy(rendered.document, await reads.policy);
  if (violations.length > 0) throw new DeployPolicyRefusedError(violations);
  const used = new Set(rendered.secretRefs.map((r) => r.name));
  const logins = await reads.logins;
  const sealed = rendered.secretRefs.length > 0 || logins.length > 0;
  const sealKey = sealed ? await reads.sealKey : null;
  if (sealed && !sealKey) {
    throw new UnprocessableError(
      "AGENT_SEAL_KEY_MISSING",
      "the cluster's agent has no key to seal secrets to (it was registered before sealing, or not at all): " +
        "issue a registration token and register the agent again (stackyard-agent register --force); " +
        "secrets are never sent in the clear",
    );
  }
  const payloadSecrets = rendered.secretRefs.map((ref) => {
    const secret = secrets.find((s) => s.name === ref.name && s.version === ref.version);
    if (!secret)
      throw new UnprocessableError("SECRET_MISSING", `secret ${ref.name} v${ref.version} is referenced but missing`);
    const sealed = seal(secret.value, sealKey!, {
      clusterId: ctx.clusterId,
      deploymentId: ctx.deploymentId,
      kind: "secret",
      name: ref.externalName,
    });
    return { name: ref.externalName, secret: ref.name, sealed };
  });
  const registryAuth = logins.map((l) => ({
    registry: l.registry,
    sealed: seal(JSON.stringify({ username: l.username, password: l.password }), sealKey!, {
      clusterId: ctx.clusterId,
      deploymentId: ctx.deploymentId,
      kind: "registry",
      name: l.registry,
    }),
  }));
  // After the policy check: a pin names the same image the checked tag does (and a local image ID no registry).
  // A promotion takes its source deployment's images first; otherwise this release's last run here.
  const earlier = (await reads.promotionPins) ?? (await reads.releasePins);
  const pinnedCompose = pinImages(rendered.yaml, earlier?.pins ?? []);
  const services = Object.keys((rendered.document.services as Record<string, unknown> | undefined) ?? {});
  const orphan = ctx.hooks.find((h) => !services.includes(h.service));
  if (orphan) {
    throw new UnprocessableError(
      "HOOK_SERVICE_MISSING",
      `the ${orphan.phase} hook runs with service ${orphan.service}, which the rendered compose file does not have`,
    );
  }
  const healthGraceSeconds = manifestHealthGrace(ctx.manifest, services);
  // --prune only when this release drops services the stack had, so unrelated services are never touched.
  const prune = previousServices !== null && previousServices.some((s) => !services.includes(s));
  return {
    payload: {
      deploymentId: ctx.deploymentId,
      stackName: ctx.swarmStack,
      composeYaml: pinnedCompose.yaml,
      env: {},
      secrets: payloadSecrets,
      // Only when there is one: agents older than registry credentials refuse the field.
      ...(registryAuth.length > 0 ? { registryAuth } : {}),
      // Likewise only when there are hooks: an agent older than hooks refuses them rather than skip them.
      ...(ctx.hooks.length > 0 ? { hooks: ctx.hooks } : {}),
      ...(Object.keys(healthGraceSeconds).length > 0 ? { healthGraceSeconds } : {}),
      labels: ownershipLabels(ownership),
      adopt: ctx.adopt,
      keepSecretVersions: options.keepSecretVersions,
      prune,
      resolveImage: ctx.imageResolution,
      withRegistryAuth: true,
      timeoutSeconds: ctx.timeoutSeconds,
    },
    secretValues: [
      ...secrets.filter((s) => used.has(s.name)).map((s) => s.value.toString("utf8")),
      ...logins.map((l) => l.password),
    ],
    pinned:
      earlier && pinnedCompose.applied.length > 0
        ? { fromDeploymentId: earlier.deploymentId, images: pinnedCompose.applied }
        : null,
  };
}

/** Marks a promise started ahead of its `await` as handled, so a rejection that is never awaited is not fatal. */
function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/** The release the environment last deployed successfully and its services (null when it never was). */
export async function lastDeployedRelease(
  db: Db,
  environmentId: string,
): Promise<{ releaseId: string; services: string[] } | null> {
  const row = await db("deployments as d")
    .join("stack_releases as r", "r.id", "d.release_id")
    .where({ "d.environment_id": environmentId, "d.status": "SUCCEEDED" })
    .orderBy("d.finished_at", "desc")
    .first<{ id: string; compose_yaml: string } | undefined>("r.id", "r.compose_yaml");
  if (!row) return null;
  const { parse } = await import("yaml");
  const doc = parse(row.compose_yaml) as { services?: Record<string, unknown> } | null;
  return { releaseId: row.id, services: Object.keys(doc?.services ?? {}) };
}
