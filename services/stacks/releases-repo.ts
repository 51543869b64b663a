/**
 * Releases: a stack's compose file frozen under a version number (1, 2, 3... per stack). The database refuses
 * any change to what a release deploys (trigger `stack_releases_immutable`); ReleaseImmutableError is that
 * refusal as an API error.
 */
import { createHash } from "node:crypto";
import { ConflictError, NotFoundError } from "../_shared/errors.js";
import { TenantScope } from "../_shared/tenant.js";
import type { ComposeWarning } from "./compose-validation.js";
import type { Manifest } from "./manifest.js";

export type ReleaseSourceType = "upload" | "git";

export interface CreateReleaseInput {
  stackId: string;
  sourceType: ReleaseSourceType;
  /** `<repo>@<commit>:<path>` for git; optional for uploads. */
  sourceRef: string | null;
  composeYaml: string;
  warnings: ComposeWarning[];
  createdBy: string | null;
  /** The validated `stackyard.yaml` and its text, or null for a release without one. */
  manifest?: { yaml: string; document: Manifest } | null;
  /** A release built from source starts `building`, its compose as the commit has it (with `build:`). */
  building?: boolean;
}

/** `ready` for a release deployable as it is (every upload and git release without `build:`). */
export type ReleaseState = "building" | "ready" | "failed" | "canceled";

export interface ReleaseSummary {
  id: string;
  stackId: string;
  version: number;
  sourceType: ReleaseSourceType;
  sourceRef: string | null;
  composeSha256: string;
  warnings: ComposeWarning[];
  createdAt: Date;
  createdBy: string | null;
  state: ReleaseState;
  buildId: string | null;
}

export interface Release extends ReleaseSummary {
  composeYaml: string;
  manifestYaml: string | null;
  manifest: Manifest | null;
}

/**
 * 409, not 405: the request reached a resource that exists and the refusal is about its state (frozen), while
 * 405 is the gateway's answer for a method a route does not have (there is no update route for releases).
 */
export class ReleaseImmutableError extends ConflictError {
  constructor(releaseId?: string, options?: { cause?: unknown }) {
    super("RELEASE_IMMUTABLE", "releases are immutable: create a new release instead", releaseId ? { releaseId } : {});
    if (options?.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
  }
}

/** SQLSTATE the immutability trigger raises (`restrict_violation`). */
const RESTRICT_VIOLATION = "23001";
const IMMUTABLE_TRIGGER_MESSAGE = /stack release .* is immutable/;

/** Maps the trigger's refusal to ReleaseImmutableError; anything else is returned unchanged. */
export function toReleaseError(err: unknown, releaseId?: string): unknown {
  const e = err as { code?: unknown; message?: unknown };
  if (e.code === RESTRICT_VIOLATION && typeof e.message === "string" && IMMUTABLE_TRIGGER_MESSAGE.test(e.message)) {
    return new ReleaseImmutableError(releaseId, { cause: err });
  }
  return err;
}

export const DEFAULT_RELEASE_PAGE_SIZE = 50;
export const MAX_RELEASE_PAGE_SIZE = 200;

interface ReleaseRow {
  id: string;
  stack_id: string;
  version: number;
  source_type: ReleaseSourceType;
  source_ref: string | null;
  compose_sha256: string;
  warnings_json: ComposeWarning[];
  created_at: Date;
  created_by: string | null;
  build_status: ReleaseState | null;
  build_id: string | null;
  compose_yaml?: string;
  manifest_yaml?: string | null;
  manifest_json?: Manifest | null;
}

const SUMMARY_COLUMNS = [
  "id",
  "stack_id",
  "version",
  "source_type",
  "source_ref",
  "compose_sha256",
  "warnings_json",
  "created_at",
  "created_by",
  "build_status",
] as const;

/** The release's build, if it has one (at most one per release). */
const BUILD_ID = "(select b.id from release_builds b where b.release_id = stack_releases.id) as build_id";

const DETAIL_COLUMNS = ["compose_yaml", "manifest_yaml", "manifest_json"] as const;

function toRelease(row: ReleaseRow): Release {
  return {
    ...toSummary(row),
    composeYaml: row.compose_yaml ?? "",
    manifestYaml: row.manifest_yaml ?? null,
    manifest: row.manifest_json ?? null,
  };
}

function toSummary(row: ReleaseRow): ReleaseSummary {
  return {
    id: row.id,
    stackId: row.stack_id,
    version: row.version,
    sourceType: row.source_type,
    sourceRef: row.source_ref,
    composeSha256: row.compose_sha256,
    warnings: row.warnings_json,
    createdAt: row.created_at,
    createdBy: row.created_by,
    state: row.build_status ?? "ready",
    buildId: row.build_id ?? null,
  };
}

export function sha256Hex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/**
 * The next version is max + 1 under a lock on the stack row, so concurrent creations queue instead of
 * colliding on (stack_id, version). Inside a caller's transaction this runs in a savepoint.
 */
export async function createRelease(scope: TenantScope, input: CreateReleaseInput): Promise<Release> {
  return scope.db.transaction(async (trx) => {
    const tx = new TenantScope(trx, scope.orgId);
    // NO KEY UPDATE conflicts with itself (creations serialise) but not with the key-share locks that inserts
    // into tables referencing stacks take, so environments and releases can still be written meanwhile.
    const stack = await tx
      .from("stacks")
      .select("id")
      .where({ id: input.stackId })
      .forNoKeyUpdate()
      .first<{ id: string } | undefined>();
    if (!stack) throw new NotFoundError("STACK_NOT_FOUND", "stack not found");
    const { next } = (await tx
      .from("stack_releases")
      .where({ stack_id: input.stackId })
      .select(trx.raw("coalesce(max(version), 0) + 1 as next"))
      .first<{ next: number }>()) ?? { next: 1 };
    const [row] = await tx
      .insert("stack_releases", {
        stack_id: input.stackId,
        version: next,
        source_type: input.sourceType,
        source_ref: input.sourceRef,
        compose_yaml: input.composeYaml,
        compose_sha256: sha256Hex(input.composeYaml),
        warnings_json: JSON.stringify(input.warnings),
        created_by: input.createdBy,
        manifest_yaml: input.manifest?.yaml ?? null,
        manifest_json: input.manifest ? JSON.stringify(input.manifest.document) : null,
        ...(input.building ? { build_status: "building", source_compose_yaml: input.composeYaml } : {}),
      })
      .returning<ReleaseRow[]>([...SUMMARY_COLUMNS, ...DETAIL_COLUMNS]);
    if (!row) throw new Error("stack_releases insert returned no row");
    return toRelease({ ...row, build_id: null });
  });
}

/** Newest first; `beforeVersion` pages further back. Without the compose text. */
export async function listReleases(
  scope: TenantScope,
  stackId: string,
  page: { limit?: number; beforeVersion?: number } = {},
): Promise<ReleaseSummary[]> {
  const limit = Math.min(Math.max(page.limit ?? DEFAULT_RELEASE_PAGE_SIZE, 1), MAX_RELEASE_PAGE_SIZE);
  const query = scope
    .from("stack_releases")
    .select<ReleaseRow[]>(...SUMMARY_COLUMNS, scope.db.raw(BUILD_ID))
    .where({ stack_id: stackId })
    .orderBy("version", "desc")
    .limit(limit);
  if (page.beforeVersion !== undefined) query.where("version", "<", page.beforeVersion);
  return (await query).map(toSummary);
}

export async function getRelease(scope: TenantScope, releaseId: string): Promise<Release> {
  const row = await scope
    .from("stack_releases")
    .select<ReleaseRow[]>([...SUMMARY_COLUMNS, ...DETAIL_COLUMNS, scope.db.raw(BUILD_ID)])
    .where({ id: releaseId })
    .first();
  if (!row) throw new NotFoundError("RELEASE_NOT_FOUND", "release not found");
  return toRelease(row);
}
