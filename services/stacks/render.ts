/**
 * The desired state of an environment: release compose + overlay patch + overlay variables + secret references.
 * This is exactly what a deployment sends to the cluster, so it is deterministic (sorted keys, one quoting
 * style) and diffable, and it never contains a secret value: secrets are external Swarm secrets whose name
 * carries the version, so a rotated value is a new Swarm secret and the services using it are updated.
 */
import { stringify } from "yaml";
import { UnprocessableError } from "../_shared/errors.js";
import {
  checkComposeDocument,
  ComposeValidationError,
  parseComposeYaml,
  type ComposeWarning,
} from "./compose-validation.js";
import { compareCodePoints, isJsonObject, sortKeysDeep, type JsonObject, type JsonValue } from "./json.js";
import { applyEnv, mergeCompose, parseComposePatch } from "./overlay-merge.js";

/** Swarm's limit on secret names. */
export const MAX_SWARM_SECRET_NAME_LENGTH = 64;

export interface RenderSecret {
  name: string;
  version: number;
  /** Services that mount it; empty means every service. */
  services: string[];
}

export interface RenderInput {
  stackName: string;
  releaseCompose: string;
  overlay: { envJson: unknown; composePatchYaml: string };
  secrets: RenderSecret[];
}

export interface SecretRef {
  name: string;
  version: number;
  /** The Swarm secret the deployment must create (with the value) before `docker stack deploy`. */
  externalName: string;
  /** The services it was mounted into (listed services the document lacks are skipped). */
  services: string[];
}

export interface RenderedState {
  yaml: string;
  document: JsonObject;
  secretRefs: SecretRef[];
  warnings: ComposeWarning[];
}

/** The release was validated when it was created; its size limit applied then. */
const NO_SIZE_LIMIT = Number.MAX_SAFE_INTEGER;

export function swarmSecretName(stackName: string, name: string, version: number): string {
  return `${stackName}_${name}_v${version}`;
}

export function renderDesiredState(input: RenderInput): RenderedState {
  const release = parseComposeYaml(input.releaseCompose, NO_SIZE_LIMIT);
  if (!isJsonObject(release)) {
    throw new ComposeValidationError("COMPOSE_NOT_A_MAPPING", "the release compose file is not a YAML mapping");
  }
  const patched = mergeCompose(release, parseComposePatch(input.overlay.composePatchYaml, NO_SIZE_LIMIT));
  const withEnv = applyEnv(patched, input.overlay.envJson ?? {});
  const { document, secretRefs } = attachSecrets(withEnv, input.stackName, input.secrets);
  // The overlay may have broken what the release got right (removed an image, added a key Swarm refuses).
  const warnings = checkComposeDocument(document, input.stackName);
  const sorted = sortKeysDeep(document) as JsonObject;
  return { yaml: toYaml(sorted), document: sorted, secretRefs, warnings };
}

/** The one serialisation of rendered state; every string double-quoted so no YAML reader retypes it. */
export function toYaml(document: JsonValue): string {
  return stringify(document, {
    sortMapEntries: true,
    defaultStringType: "QUOTE_DOUBLE",
    defaultKeyType: "PLAIN",
    lineWidth: 0,
    aliasDuplicateObjects: false,
  });
}

function attachSecrets(
  input: JsonObject,
  stackName: string,
  secrets: RenderSecret[],
): { document: JsonObject; secretRefs: SecretRef[] } {
  const document = structuredClone(input);
  const services = isJsonObject(document.services) ? document.services : {};
  const declared: JsonObject = isJsonObject(document.secrets) ? document.secrets : {};
  const secretRefs: SecretRef[] = [];
  for (const secret of [...secrets].sort((a, b) => compareCodePoints(a.name, b.name))) {
    const externalName = swarmSecretName(stackName, secret.name, secret.version);
    if (externalName.length > MAX_SWARM_SECRET_NAME_LENGTH) {
      throw new UnprocessableError(
        "RENDER_SECRET_NAME_TOO_LONG",
        `the Swarm secret name "${externalName}" is longer than ${MAX_SWARM_SECRET_NAME_LENGTH} characters: use a shorter secret name`,
        { secret: secret.name, externalName },
      );
    }
    // An environment secret takes the place of a declaration of the same name in the release.
    declared[secret.name] = { external: true, name: externalName };
    const targets = (secret.services.length > 0 ? secret.services : Object.keys(services))
      .filter((name) => isJsonObject(services[name]))
      .sort(compareCodePoints);
    for (const name of targets) mountSecret(services[name] as JsonObject, secret.name);
    secretRefs.push({ name: secret.name, version: secret.version, externalName, services: targets });
  }
  if (secretRefs.length > 0) document.secrets = declared;
  return { document, secretRefs };
}

/** A mount the release already has (perhaps with its own target or mode) is kept as written. */
function mountSecret(service: JsonObject, name: string): void {
  const mounts = Array.isArray(service.secrets) ? service.secrets : [];
  const present = mounts.some((m) => m === name || (isJsonObject(m) && m.source === name));
  if (!present) mounts.push({ source: name, target: name });
  service.secrets = mounts;
}
