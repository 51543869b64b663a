/**
 * What an environment adds to a release: its overlay (variables and a compose patch), its encrypted secrets, and
 * the desired state rendered from all of them, with diffs between two such states.
 */
import { publishEnvironmentChanged } from "./integration-events.js";
import { NotFoundError } from "../_shared/errors.js";
import type { Principal, RequestInfo } from "../_shared/principal.js";
import type { TenantScope } from "../_shared/tenant.js";
import { actorOf, recordAudit } from "../audit/index.js";
import { diffRendered } from "./diff.js";
import { parseComposePatch, parseEnvOverlay, type EnvOverlay } from "./overlay-merge.js";
import { getRelease, listReleases, type Release } from "./releases-repo.js";
import { parse } from "yaml";
import { OWNERSHIP_LABELS } from "../../nats/protocol/labels.js";
import type { JsonValue } from "./json.js";
import { renderDesiredState, toYaml, type RenderedState } from "./render.js";
import type { MasterKeys } from "./secrets-crypto.js";
import { deleteSecret, listSecrets, putSecret } from "./secrets-repo.js";
import { findEnvironment, lastDeployedRelease } from "./stacks.logic.js";
import { overlayView, secretView, type EnvironmentRow, type OverlayRow } from "./views.js";
import type { OpBody, OpQuery } from "../_shared/rest.js";
import { renderIngressFor } from "../ingress/index.js";

const OVERLAY_COLUMNS = ["environment_id", "env_json", "compose_patch_yaml", "updated_at", "updated_by"] as const;

async function findOverlay(scope: TenantScope, environmentId: string): Promise<OverlayRow> {
  const row = (await scope
    .from<OverlayRow>("stack_overlays")
    .where({ environment_id: environmentId })
    .first(...OVERLAY_COLUMNS)) as OverlayRow | undefined;
  // Created with the environment; a missing row is an environment of another org or none at all.
  if (!row) throw new NotFoundError("ENVIRONMENT_NOT_FOUND", "environment not found");
  return row;
}

export async function getOverlay(scope: TenantScope, environmentId: string) {
  await findEnvironment(scope, environmentId);
  return overlayView(await findOverlay(scope, environmentId));
}

export type OverlayInput = OpBody<"putOverlay">;

/** Replaces the overlay after checking both parts on their own (the merge with a release is checked at render). */
export async function putOverlay(
  scope: TenantScope,
  principal: Principal,
  environmentId: string,
  input: OverlayInput,
  composeMaxBytes: number,
  request: RequestInfo,
) {
  return scope.transaction(async (tx) => {
    // The environment first: another org's (or an unknown) id is a 404 whatever the body holds, so the
    // answer never tells a caller that an id exists elsewhere.
    await findEnvironment(tx, environmentId);
    const env: EnvOverlay = parseEnvOverlay(input.envJson);
    parseComposePatch(input.composePatchYaml, composeMaxBytes);
    const [row] = (await tx
      .from("stack_overlays")
      .where({ environment_id: environmentId })
      .update({
        env_json: JSON.stringify(env),
        compose_patch_yaml: input.composePatchYaml,
        updated_at: tx.db.fn.now(),
        updated_by: principal.userId,
      })
      .returning([...OVERLAY_COLUMNS])) as OverlayRow[];
    if (!row) throw new NotFoundError("ENVIRONMENT_NOT_FOUND", "environment not found");
    await recordAudit(
      tx,
      {
        ...actorOf(principal),
        action: "overlay.update",
        targetType: "environment",
        targetId: environmentId,
        // Names only: variable values may be sensitive even though they are not secrets.
        data: {
          globalVariables: Object.keys(env.global ?? {}).sort(),
          serviceVariables: Object.fromEntries(
            Object.entries(env.services ?? {}).map(([service, vars]) => [service, Object.keys(vars).sort()]),
          ),
          composePatchBytes: Buffer.byteLength(input.composePatchYaml, "utf8"),
        },
      },
      request,
    );
    publishEnvironmentChanged(tx.db, scope.orgId, {
      change: "overlay",
      environmentId,
      globalVariables: Object.keys(env.global ?? {}).sort(),
      serviceVariables: Object.fromEntries(
        Object.entries(env.services ?? {}).map(([service, vars]) => [service, Object.keys(vars).sort()]),
      ),
    });
    return overlayView(row);
  });
}

export type SecretInput = OpBody<"putSecret">;

/** Creates (version 1) or rotates (version + 1) a secret; the value never leaves this function. */
export async function putEnvironmentSecret(
  scope: TenantScope,
  principal: Principal,
  environmentId: string,
  name: string,
  input: SecretInput,
  keys: MasterKeys,
  request: RequestInfo,
) {
  return scope.transaction(async (tx) => {
    await findEnvironment(tx, environmentId);
    const result = await putSecret(
      tx,
      { environmentId, name, value: input.value, services: input.services ?? [], actor: principal.userId },
      keys,
    );
    await recordAudit(
      tx,
      {
        ...actorOf(principal),
        action: result.created ? "secret.create" : "secret.rotate",
        targetType: "environment",
        targetId: environmentId,
        data: { name, version: result.version, services: result.services },
      },
      request,
    );
    publishEnvironmentChanged(tx.db, scope.orgId, {
      change: "secret",
      environmentId,
      secret: { name, version: result.version, action: result.created ? "created" : "rotated" },
    });
    return { ...secretView(result), created: result.created };
  });
}

export async function listEnvironmentSecrets(scope: TenantScope, environmentId: string) {
  await findEnvironment(scope, environmentId);
  return { items: (await listSecrets(scope, environmentId)).map(secretView) };
}

export async function deleteEnvironmentSecret(
  scope: TenantScope,
  principal: Principal,
  environmentId: string,
  name: string,
  request: RequestInfo,
) {
  return scope.transaction(async (tx) => {
    await findEnvironment(tx, environmentId);
    const deleted = await deleteSecret(tx, environmentId, name);
    await recordAudit(
      tx,
      {
        ...actorOf(principal),
        action: "secret.delete",
        targetType: "environment",
        targetId: environmentId,
        data: { name, version: deleted.version },
      },
      request,
    );
    publishEnvironmentChanged(tx.db, scope.orgId, {
      change: "secret",
      environmentId,
      secret: { name, version: deleted.version, action: "deleted" },
    });
    return secretView(deleted);
  });
}

/** A release of the environment's stack: the given one, or the newest. */
async function releaseFor(scope: TenantScope, environment: EnvironmentRow, releaseId?: string): Promise<Release> {
  if (releaseId === undefined) {
    const [latest] = await listReleases(scope, environment.stack_id, { limit: 1 });
    if (!latest) throw new NotFoundError("RELEASE_NOT_FOUND", "the stack has no release yet");
    return getRelease(scope, latest.id);
  }
  const release = await getRelease(scope, releaseId);
  // A release of another stack is not a release of this environment.
  if (release.stackId !== environment.stack_id) throw new NotFoundError("RELEASE_NOT_FOUND", "release not found");
  return release;
}

async function render(scope: TenantScope, environment: EnvironmentRow, release: Release): Promise<RenderedState> {
  const [overlay, secrets, ingress] = await Promise.all([
    findOverlay(scope, environment.id),
    listSecrets(scope, environment.id),
    renderIngressFor(scope, environment),
  ]);
  return renderDesiredState({
    swarmStack: environment.swarm_stack,
    ownership: { orgId: scope.orgId, environmentId: environment.id, releaseId: release.id },
    releaseCompose: release.composeYaml,
    overlay: { envJson: overlay.env_json, composePatchYaml: overlay.compose_patch_yaml },
    replicaOverrides: environment.replica_overrides ?? {},
    ...(ingress ? { ingress } : {}),
    secrets: secrets.map((s) => ({
      id: s.id,
      name: s.name,
      version: s.version,
      contentDigest: s.contentDigest,
      services: s.services,
    })),
  });
}

/** Every deployment labels its objects with its own id: not a difference worth showing between two states. */
function withoutDeploymentLabels(yaml: string): string {
  if (yaml === "") return yaml;
  const document = parse(yaml) as unknown;
  const strip = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(strip);
    else if (typeof value === "object" && value !== null) {
      const record = value as Record<string, unknown>;
      const labels = record.labels;
      if (typeof labels === "object" && labels !== null && !Array.isArray(labels)) {
        delete (labels as Record<string, unknown>)[OWNERSHIP_LABELS.deployment];
      }
      Object.values(record).forEach(strip);
    }
  };
  strip(document);
  return toYaml(document as JsonValue);
}

/** The desired state of the environment for a release (default: the newest): never a secret value. */
export async function renderEnvironment(scope: TenantScope, environmentId: string, releaseId?: string) {
  const environment = await findEnvironment(scope, environmentId);
  const release = await releaseFor(scope, environment, releaseId);
  const state = await render(scope, environment, release);
  return {
    environmentId,
    releaseId: release.id,
    releaseVersion: release.version,
    yaml: state.yaml,
    secretRefs: state.secretRefs,
    warnings: state.warnings,
  };
}

/** `current` or a release id; `to` defaults to the newest release, `from` to current. */
export type DiffQuery = OpQuery<"diffEnvironment">;

/**
 * `current` is the release of the last successful deployment, rendered with the environment's overlay and
 * secrets as they are now; nothing deployed yet is an empty document.
 */
export async function diffEnvironment(scope: TenantScope, environmentId: string, query: DiffQuery) {
  const environment = await findEnvironment(scope, environmentId);
  const to = await releaseFor(scope, environment, query.to);
  const toState = await render(scope, environment, to);
  let from: { kind: "current" | "release"; releaseId: string | null; releaseVersion: number | null; yaml: string };
  if (query.from === undefined || query.from === "current") {
    const deployed = await lastDeployedRelease(scope, environmentId);
    const release = deployed?.release;
    // What was actually sent when it was deployed; re-rendered only for deployments older than that record.
    const yaml = deployed?.renderedYaml ?? (release ? (await render(scope, environment, release)).yaml : "");
    from = {
      kind: "current",
      releaseId: release?.id ?? null,
      releaseVersion: release?.version ?? null,
      yaml,
    };
  } else {
    const release = await releaseFor(scope, environment, query.from);
    from = {
      kind: "release",
      releaseId: release.id,
      releaseVersion: release.version,
      yaml: (await render(scope, environment, release)).yaml,
    };
  }
  const label = (kind: string, version: number | null) =>
    kind === "current"
      ? version === null
        ? "current (nothing deployed)"
        : `current (release ${version})`
      : `release ${version ?? ""}`;
  const diff = diffRendered(withoutDeploymentLabels(from.yaml), withoutDeploymentLabels(toState.yaml), {
    from: label(from.kind, from.releaseVersion),
    to: label("release", to.version),
  });
  return {
    environmentId,
    from: { kind: from.kind, releaseId: from.releaseId, releaseVersion: from.releaseVersion },
    to: { kind: "release" as const, releaseId: to.id, releaseVersion: to.version },
    unified: diff.unified,
    services: diff.services,
  };
}
