/**
 * The exact image each service of a converged stack runs, so the control plane can deploy that image again later
 * (a rollback, a redeploy) even when its tag has moved since. The truthful pin of a service is:
 *   - its registry digest (`kind: "digest"`, `repo@sha256:…`) when Swarm already pinned one in the spec
 *     (`--resolve-image always|changed` against a registry) or the image this node runs carries one for the repo;
 *   - else the node-local image ID (`kind: "image-id"`, `sha256:…`): an image built or loaded on the node has no
 *     registry digest, and compose accepts the ID as `image:` on a node that holds it.
 * The running image is read from the service's containers on this node (what the task really started from, not
 * where the tag points now); a service with no container here falls back to this node's copy of the tag.
 */
import type { ImagePin } from "../../../nats/protocol/image-pins.js";
import type { ServiceHealth } from "./types.js";

export type { ImagePin };

/** What the pins are read from: this node's containers and image store. */
export interface ImageLookup {
  /** Image IDs (`sha256:…`) of the running containers of one Swarm service on this node. */
  runningImageIds(serviceName: string): Promise<string[]>;
  /** An image of this node's store by reference or ID; null when it is not here. */
  inspectImage(ref: string): Promise<{ id: string; repoDigests: string[] } | null>;
}

const DIGEST = /@sha256:[0-9a-f]{64}$/;
const IMAGE_ID = /^sha256:[0-9a-f]{64}$/;

/** The repository of a reference: `reg:5000/a/b:tag@sha256:…` → `reg:5000/a/b` (a port is not a tag). */
export function repositoryOf(ref: string): string {
  const name = ref.split("@")[0]!;
  const slash = name.lastIndexOf("/");
  const colon = name.lastIndexOf(":");
  return colon > slash ? name.slice(0, colon) : name;
}

/** The pin of one service; null when neither a digest nor an image on this node says what it runs. */
export async function pinOf(
  lookup: ImageLookup,
  serviceName: string,
  image: string,
): Promise<Pick<ImagePin, "pinned" | "kind"> | null> {
  if (DIGEST.test(image)) return { pinned: image, kind: "digest" };
  if (IMAGE_ID.test(image)) return { pinned: image, kind: "image-id" };
  const running = [...new Set(await lookup.runningImageIds(serviceName))];
  // Two different images running for one service (mid-update on this node): no single truthful pin.
  if (running.length > 1) return null;
  const found = await lookup.inspectImage(running[0] ?? image);
  if (!found) return null;
  const repo = repositoryOf(image);
  const digest = found.repoDigests.find((d) => repositoryOf(d) === repo);
  if (digest) return { pinned: digest, kind: "digest" };
  return { pinned: found.id, kind: "image-id" };
}

/**
 * The pins of a converged stack's services (compose service names, without the `<stack>_` prefix). A service
 * whose image cannot be told is left out: the control plane then deploys its tag as written.
 */
export async function resolveImagePins(
  lookup: ImageLookup,
  stack: string,
  services: ServiceHealth[],
): Promise<ImagePin[]> {
  const pins: ImagePin[] = [];
  for (const s of services) {
    const pin = await pinOf(lookup, s.name, s.image);
    if (!pin) continue;
    const service = s.name.startsWith(`${stack}_`) ? s.name.slice(stack.length + 1) : s.name;
    pins.push({ service, image: s.image, ...pin });
  }
  return pins.sort((a, b) => a.service.localeCompare(b.service));
}
