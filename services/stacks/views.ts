/** Row → API shapes of stacks, environments, releases, overlays and secrets (the OpenAPI schemas of the same names). */
import type { ReleaseSummary, Release } from "./releases-repo.js";
import type { SecretMetadata } from "./secrets-repo.js";

export interface StackRow {
  id: string;
  org_id: string;
  name: string;
  description: string;
  created_by: string | null;
  created_at: Date;
}

export interface EnvironmentRow {
  id: string;
  org_id: string;
  stack_id: string;
  name: string;
  cluster_id: string;
  swarm_stack: string;
  deploy_timeout_seconds: number;
  /** Service name → replicas, set by scaling. */
  replica_overrides: Record<string, number>;
  /** The failure policy (migrations/20261203200100): what a failed deployment that changed the swarm leads to. */
  on_failure: "rollback" | "pause";
  /** Git auto-sync (migrations/20261204800200): manual, or automatic from a source; the pin pauses it. */
  sync_mode: "manual" | "automatic";
  sync_source_id: string | null;
  pinned_at: Date | null;
  pinned_reason: string | null;
  pinned_by: string | null;
  /** `docker stack deploy --resolve-image` of its deployments (migrations/20261212100100). */
  image_resolution: "always" | "changed" | "never";
  /** When it last moved to another cluster; null when it never did. */
  cluster_changed_at: Date | null;
  /** Promotion pipeline and approvals (migrations/20261218000100): ascending position = dev → staging → prod. */
  pipeline_position: number | null;
  approval_required: boolean;
  approval_role: "ORG_ADMIN" | "CLUSTER_ADMIN" | "APP_ADMIN";
  created_at: Date;
}

export interface OverlayRow {
  environment_id: string;
  env_json: unknown;
  compose_patch_yaml: string;
  updated_at: Date;
  updated_by: string | null;
}

export const stackView = (s: StackRow) => ({
  id: s.id,
  orgId: s.org_id,
  name: s.name,
  description: s.description,
  createdBy: s.created_by,
  createdAt: s.created_at.toISOString(),
});
export type StackView = ReturnType<typeof stackView>;

export const environmentView = (e: EnvironmentRow) => ({
  id: e.id,
  stackId: e.stack_id,
  name: e.name,
  clusterId: e.cluster_id,
  swarmStack: e.swarm_stack,
  deployTimeoutSeconds: e.deploy_timeout_seconds,
  replicaOverrides: e.replica_overrides ?? {},
  onFailure: e.on_failure,
  imageResolution: e.image_resolution,
  sync: {
    mode: e.sync_mode,
    sourceId: e.sync_source_id,
    pinned: e.pinned_at
      ? { reason: e.pinned_reason ?? "", pinnedAt: e.pinned_at.toISOString(), pinnedBy: e.pinned_by }
      : null,
  },
  pipelinePosition: e.pipeline_position ?? null,
  approval: { required: e.approval_required ?? false, role: e.approval_role ?? "APP_ADMIN" },
  createdAt: e.created_at.toISOString(),
});
export type EnvironmentView = ReturnType<typeof environmentView>;

export const releaseSummaryView = (r: ReleaseSummary) => ({
  id: r.id,
  stackId: r.stackId,
  version: r.version,
  sourceType: r.sourceType,
  sourceRef: r.sourceRef,
  sha256: r.composeSha256,
  warnings: r.warnings,
  createdBy: r.createdBy,
  createdAt: r.createdAt.toISOString(),
  state: r.state,
  buildId: r.buildId,
});
export type ReleaseSummaryView = ReturnType<typeof releaseSummaryView>;

export const releaseView = (r: Release) => ({
  ...releaseSummaryView(r),
  composeYaml: r.composeYaml,
  manifestYaml: r.manifestYaml,
  manifest: r.manifest,
});

export const overlayView = (o: OverlayRow) => ({
  environmentId: o.environment_id,
  envJson: o.env_json,
  composePatchYaml: o.compose_patch_yaml,
  updatedBy: o.updated_by,
  updatedAt: o.updated_at.toISOString(),
});

export const secretView = (s: SecretMetadata) => ({
  name: s.name,
  services: s.services,
  version: s.version,
  updatedBy: s.updatedBy,
  updatedAt: s.updatedAt.toISOString(),
});
