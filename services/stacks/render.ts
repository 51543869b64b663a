/**
 * The desired state of an environment: release compose + overlay patch + overlay variables + secret references
 * + ownership labels. This is exactly what a deployment sends to the cluster, so it is deterministic (sorted keys,
 * one quoting style) and diffable, and it never contains a secret value: secrets are external Swarm secrets whose
 * name is derived from the environment and that write of the secret, so a rotated (or deleted and re-created)
 * value is a new Swarm secret and the services using it are updated.
 */
import { createHash } from "node:crypto";
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
import { ownershipLabels, type Ownership } from "./swarm-stack.js";

/** Swarm's limit on secret names. */
export const MAX_SWARM_SECRET_NAME_LENGTH = 64;

/** Hex characters of the hash that ends a Swarm secret name. */
export const SWARM_SECRET_HASH_CHARS = 12;

export interface RenderSecret {
  /** The environment_secrets row: a secret deleted and created again is a new row. */
  id: string;
  name: string;
  version: number;
  /** sha256 of that write's ciphertext (environment_secrets.content_digest): never the value's own digest. */
  contentDigest: string;
  /** Services that mount it; empty means every service. */
  services: string[];
}

export interface RenderInput {
  /** The environment's Swarm stack (environments.swarm_stack). */
  swarmStack: string;
  /** Who the rendered objects belong to: their ownership labels, and the environment in secret names. */
  ownership: Ownership;
  releaseCompose: string;
  overlay: { envJson: unknown; composePatchYaml: string };
  secrets: RenderSecret[];
  /** Replica counts set by scaling (environments.replica_overrides): they win over the release and the overlay. */
  replicaOverrides?: Record<string, number>;
  /** The environment's ingress routes and the overlay network of its cluster's proxy (services/ingress). */
  ingress?: RenderIngress;
}

export interface RenderIngress {
  /** The proxy's overlay network (cluster_ingress.network_name). */
  network: string;
  routes: Array<{ host: string; pathPrefix: string; service: string; port: number }>;
}

/** The compose key of the proxy's network in a rendered document (declared external, named as the cluster's). */
export const INGRESS_NETWORK_KEY = "stackyard-ingress";
/** On a routed service (`deploy.labels`): its routes, `host/path -> port`, so a route change shows in the diff. */
export const INGRESS_ROUTES_LABEL = "io.stackyard.ingress.routes";

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

/**
 * `<swarmStack>_<name>_<hash>`, the hash over environment, row, version and content digest: two environments,
 * two versions, or a secret deleted and created again never share a Swarm secret name.
 */
export function swarmSecretName(
  swarmStack: string,
  environmentId: string,
  secret: Pick<RenderSecret, "id" | "name" | "version" | "contentDigest">,
): string {
  const hash = createHash("sha256")
    .update([environmentId, secret.id, String(secret.version), secret.contentDigest].join("\0"))
    .digest("hex")
    .slice(0, SWARM_SECRET_HASH_CHARS);
  return `${swarmStack}_${secret.name}_${hash}`;
}

export function renderDesiredState(input: RenderInput): RenderedState {
  const release = parseComposeYaml(input.releaseCompose, NO_SIZE_LIMIT);
  if (!isJsonObject(release)) {
    throw new ComposeValidationError("COMPOSE_NOT_A_MAPPING", "the release compose file is not a YAML mapping");
  }
  const patched = mergeCompose(release, parseComposePatch(input.overlay.composePatchYaml, NO_SIZE_LIMIT));
  const withEnv = applyReplicaOverrides(applyEnv(patched, input.overlay.envJson ?? {}), input.replicaOverrides ?? {});
  const { document, secretRefs } = attachSecrets(withEnv, input.swarmStack, input.ownership, input.secrets);
  if (input.ingress && input.ingress.routes.length > 0) attachIngress(document, input.ingress);
  attachOwnershipLabels(document, ownershipLabels(input.ownership));
  // The overlay may have broken what the release got right (removed an image, added a key Swarm refuses).
  const warnings = checkComposeDocument(document, input.swarmStack);
  const sorted = sortKeysDeep(document) as JsonObject;
  return { yaml: toYaml(sorted), document: sorted, secretRefs, warnings };
}

/**
 * A scaled service keeps its count in every later deploy. Services the release no longer has, and global ones
 * (no replica count), are left as they are.
 */
function applyReplicaOverrides(input: JsonObject, overrides: Record<string, number>): JsonObject {
  const names = Object.keys(overrides);
  if (names.length === 0) return input;
  const document = structuredClone(input);
  const services = isJsonObject(document.services) ? document.services : {};
  for (const name of names) {
    const service = services[name];
    if (!isJsonObject(service)) continue;
    const deploy = isJsonObject(service.deploy) ? service.deploy : {};
    if (deploy.mode === "global") continue;
    deploy.replicas = overrides[name]!;
    service.deploy = deploy;
  }
  return document;
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
  swarmStack: string,
  ownership: Ownership,
  secrets: RenderSecret[],
): { document: JsonObject; secretRefs: SecretRef[] } {
  const document = structuredClone(input);
  const services = isJsonObject(document.services) ? document.services : {};
  const declared: JsonObject = isJsonObject(document.secrets) ? document.secrets : {};
  const secretRefs: SecretRef[] = [];
  for (const secret of [...secrets].sort((a, b) => compareCodePoints(a.name, b.name))) {
    const externalName = swarmSecretName(swarmStack, ownership.environmentId, secret);
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

/**
 * Each routed service joins the proxy's network (besides the networks it had: a service without any keeps the
 * default one) and carries its routes as a label; services the document lacks are skipped.
 */
function attachIngress(document: JsonObject, ingress: RenderIngress): void {
  const services = isJsonObject(document.services) ? document.services : {};
  const byService = new Map<string, string[]>();
  for (const r of ingress.routes) {
    const list = byService.get(r.service) ?? [];
    list.push(`${r.host}${r.pathPrefix} -> ${r.port}`);
    byService.set(r.service, list);
  }
  let joined = false;
  for (const [name, routes] of byService) {
    const service = services[name];
    if (!isJsonObject(service)) continue;
    const networks = service.networks;
    if (networks === undefined || networks === null) service.networks = ["default", INGRESS_NETWORK_KEY];
    else if (Array.isArray(networks)) {
      if (!networks.includes(INGRESS_NETWORK_KEY)) networks.push(INGRESS_NETWORK_KEY);
    } else if (isJsonObject(networks)) networks[INGRESS_NETWORK_KEY] = {};
    const deploy = isJsonObject(service.deploy) ? service.deploy : {};
    deploy.labels = withLabels(deploy.labels, { [INGRESS_ROUTES_LABEL]: routes.sort(compareCodePoints).join(", ") });
    service.deploy = deploy;
    joined = true;
  }
  if (!joined) return;
  const declared = isJsonObject(document.networks) ? document.networks : {};
  declared[INGRESS_NETWORK_KEY] = { external: true, name: ingress.network };
  document.networks = declared;
}

/** A mount the release already has (perhaps with its own target or mode) is kept as written. */
function mountSecret(service: JsonObject, name: string): void {
  const mounts = Array.isArray(service.secrets) ? service.secrets : [];
  const present = mounts.some((m) => m === name || (isJsonObject(m) && m.source === name));
  if (!present) mounts.push({ source: name, target: name });
  service.secrets = mounts;
}

/**
 * Ownership labels on every object `docker stack deploy` creates: each service (`deploy.labels`, the Swarm
 * service's own labels, so changing them restarts no task) and each network, secret and config the document
 * declares, except external ones. The default network is declared when a service uses it, to carry them too.
 * They win over labels of the same name in the release.
 */
function attachOwnershipLabels(document: JsonObject, labels: Record<string, string>): void {
  const services = isJsonObject(document.services) ? document.services : {};
  let usesDefaultNetwork = false;
  for (const service of Object.values(services)) {
    if (!isJsonObject(service)) continue;
    const deploy = isJsonObject(service.deploy) ? service.deploy : {};
    deploy.labels = withLabels(deploy.labels, labels);
    service.deploy = deploy;
    const networks = service.networks;
    if (networks === undefined || networks === null) usesDefaultNetwork = true;
    else if (Array.isArray(networks) ? networks.includes("default") : isJsonObject(networks) && "default" in networks)
      usesDefaultNetwork = true;
  }
  if (usesDefaultNetwork) {
    const networks = isJsonObject(document.networks) ? document.networks : {};
    if (networks.default === undefined || networks.default === null) networks.default = {};
    document.networks = networks;
  }
  for (const kind of ["networks", "secrets", "configs"] as const) {
    const declared = document[kind];
    if (!isJsonObject(declared)) continue;
    for (const [name, definition] of Object.entries(declared)) {
      const object = isJsonObject(definition) ? definition : {};
      if (object.external === true || isJsonObject(object.external)) continue;
      object.labels = withLabels(object.labels, labels);
      declared[name] = object;
    }
  }
}

/** Compose labels are a mapping or a list of `key=value`; the result is a mapping. */
function withLabels(existing: JsonValue | undefined, labels: Record<string, string>): JsonObject {
  const out: JsonObject = {};
  if (Array.isArray(existing)) {
    for (const entry of existing) {
      if (typeof entry !== "string") continue;
      const eq = entry.indexOf("=");
      if (eq < 0) out[entry] = "";
      else out[entry.slice(0, eq)] = entry.slice(eq + 1);
    }
  } else if (isJsonObject(existing)) {
    Object.assign(out, existing);
  }
  return Object.assign(out, labels);
}
