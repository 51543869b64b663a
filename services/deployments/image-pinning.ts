/**
 * Exact images for a deployment of a release that already ran in the environment: each service's `image:` is
 * replaced by the pin an earlier deployment recorded (its registry digest or node-local image ID), so a rollback
 * or redeploy runs the very image that ran then, even when its tag moved since. Also what promotion between
 * environments reuses (pins from another environment's deployment).
 */
import { parseDocument, isMap } from "yaml";
import type { Db } from "../_shared/db.js";
import type { ImagePin } from "../../nats/protocol/image-pins.js";

/** A reference without the digest Swarm may have appended: `a:1@sha256:…` → `a:1`. */
const withoutDigest = (ref: string): string => ref.replace(/@sha256:[0-9a-f]{64}$/, "");

export interface PinnedCompose {
  yaml: string;
  /** The pins applied, by service. */
  applied: ImagePin[];
}

/**
 * Replaces, in a compose file, the `image:` of each service that has a pin, but only when the service still
 * names the image the pin was taken from (the same tag): a service whose image was changed since (an overlay, a
 * new compose) keeps what it says now, since the pin is of another image.
 */
export function pinImages(composeYaml: string, pins: readonly ImagePin[]): PinnedCompose {
  if (pins.length === 0) return { yaml: composeYaml, applied: [] };
  const doc = parseDocument(composeYaml);
  const services = doc.get("services");
  const applied: ImagePin[] = [];
  if (!isMap(services)) return { yaml: composeYaml, applied };
  for (const pin of pins) {
    const service = services.get(pin.service);
    if (!isMap(service)) continue;
    const image = service.get("image");
    if (typeof image !== "string") continue;
    // A pin taken from a deployment that was itself pinned names the pinned reference as its image: the tag it
    // came from is this release's (pins are per release), so it still applies.
    const samePinned = pin.image === pin.pinned;
    if (!samePinned && image !== pin.image && withoutDigest(image) !== withoutDigest(pin.image)) continue;
    if (image === pin.pinned) continue;
    service.set("image", pin.pinned);
    applied.push(pin);
  }
  // lineWidth 0: a long digest reference stays on one line (the default folds it into a continued quoted string).
  return { yaml: applied.length > 0 ? doc.toString({ lineWidth: 0 }) : composeYaml, applied };
}

/**
 * The pins of the latest succeeded deployment of this release to this environment that recorded them (the
 * deployment being dispatched excluded); empty when the release never ran here, or ran under an older agent.
 */
export async function pinsForRelease(
  db: Db,
  environmentId: string,
  releaseId: string,
  excludeDeploymentId: string,
): Promise<{ deploymentId: string; pins: ImagePin[] } | null> {
  const row = await db("deployments")
    .where({ environment_id: environmentId, release_id: releaseId, status: "SUCCEEDED" })
    .whereNotNull("images")
    .whereNot({ id: excludeDeploymentId })
    .orderBy("finished_at", "desc")
    .first<{ id: string; images: ImagePin[] } | undefined>("id", "images");
  return row ? { deploymentId: row.id, pins: row.images } : null;
}

/**
 * A promotion runs the very images that run in its source environment: the pins its source deployment recorded
 * (same release by construction, promotion.ts). Null for a deployment that is not a promotion, or whose source
 * recorded no pins (an older agent).
 */
export async function pinsOfPromotionSource(
  db: Db,
  deploymentId: string,
): Promise<{ deploymentId: string; pins: ImagePin[] } | null> {
  const row = await db("deployments as d")
    .join("deployments as src", "src.id", "d.promoted_from_deployment_id")
    .where("d.id", deploymentId)
    .whereRaw("src.release_id = d.release_id")
    .whereNotNull("src.images")
    .first<{ id: string; images: ImagePin[] } | undefined>("src.id as id", "src.images as images");
  return row ? { deploymentId: row.id, pins: row.images } : null;
}
