/**
 * The images a converged deployment ran, in its terminal event's `data.images` (agent → control plane) and on
 * the deployment (API). Optional on the wire: agents older than this send none, and the control plane then
 * keeps no pins for that deployment.
 */
export const IMAGE_PIN_KINDS = ["digest", "image-id"] as const;
export type ImagePinKind = (typeof IMAGE_PIN_KINDS)[number];

export interface ImagePin {
  /** The compose service name (without the `<stack>_` prefix). */
  service: string;
  /** The image as the service's spec names it (a tag, or a tag with Swarm's resolved digest). */
  image: string;
  /** What a later deployment of the same release puts in `image:`: `repo@sha256:…` or a local `sha256:…` ID. */
  pinned: string;
  kind: ImagePinKind;
}

const SERVICE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;
const PINNED = /^(?:[a-z0-9][a-z0-9._:/-]{0,254}@sha256:[0-9a-f]{64}|sha256:[0-9a-f]{64})$/;

/**
 * The valid pins of an untrusted value (an agent's event data): anything malformed is dropped, never stored, and
 * a pin must match its kind (an image ID for `image-id`, a digest reference for `digest`).
 */
export function parseImagePins(value: unknown): ImagePin[] | null {
  if (!Array.isArray(value)) return null;
  const pins: ImagePin[] = [];
  for (const item of value.slice(0, 500)) {
    if (typeof item !== "object" || item === null) continue;
    const { service, image, pinned, kind } = item as Record<string, unknown>;
    if (typeof service !== "string" || !SERVICE.test(service)) continue;
    if (typeof image !== "string" || image.length === 0 || image.length > 512) continue;
    if (typeof pinned !== "string" || !PINNED.test(pinned)) continue;
    if (kind !== "digest" && kind !== "image-id") continue;
    if ((kind === "image-id") !== pinned.startsWith("sha256:")) continue;
    if (pins.some((p) => p.service === service)) continue;
    pins.push({ service, image, pinned, kind });
  }
  return pins;
}
