/**
 * Pre-flight of a deploy: every image of the rendered compose must resolve on its registry with the
 * environment's credentials (a manifest lookup through the registry API, answering Bearer-token and Basic auth
 * challenges) before anything on the swarm changes. A missing image or a refused login fails the deployment with
 * the image and the registry's own answer.
 *
 * An image already in this node's image store and on a registry the environment has no credential for is not
 * looked up (locally built images, registries the host reaches by other means): it is reported, not checked.
 */
import { parse } from "yaml";
import { DeployError } from "./errors.js";
import type { Emit, RegistryLogin } from "./types.js";

export const DOCKER_HUB = "docker.io";
const DOCKER_HUB_API = "registry-1.docker.io";
const LOOKUP_TIMEOUT_MS = 15_000;
const MANIFEST_ACCEPT = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

export interface ImageRef {
  /** As written in the compose file. */
  image: string;
  /** host[:port], `docker.io` when none. */
  registry: string;
  repository: string;
  /** A tag or a digest (`sha256:…`). */
  reference: string;
}

/** Docker's reading of an image reference: the first component is a host when it has a `.` or `:` or is localhost. */
export function parseImageRef(image: string): ImageRef {
  let rest = image;
  let reference = "latest";
  const at = rest.indexOf("@");
  if (at >= 0) {
    reference = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  const slash = rest.indexOf("/");
  const first = slash >= 0 ? rest.slice(0, slash) : "";
  const hasHost = slash >= 0 && (first.includes(".") || first.includes(":") || first === "localhost");
  const registry = hasHost ? first.toLowerCase() : DOCKER_HUB;
  let path = hasHost ? rest.slice(slash + 1) : rest;
  const colon = path.lastIndexOf(":");
  if (colon >= 0) {
    if (at < 0) reference = path.slice(colon + 1);
    path = path.slice(0, colon);
  }
  if (registry === DOCKER_HUB && !path.includes("/")) path = `library/${path}`;
  return { image, registry, repository: path, reference };
}

/** The images the compose file's services run (interpolation is already done by the control plane). */
export function composeImages(composeYaml: string): string[] {
  const doc = parse(composeYaml) as { services?: Record<string, { image?: unknown } | null> } | null;
  const images = Object.values(doc?.services ?? {})
    .map((s) => s?.image)
    .filter((i): i is string => typeof i === "string" && i.length > 0);
  return [...new Set(images)];
}

export interface PreflightDeps {
  fetch: typeof fetch;
  /** Whether this node's image store already has the image. */
  hasImage(image: string): Promise<boolean>;
  emit: Emit;
  signal: AbortSignal;
}

interface LookupFailure {
  image: string;
  registry: string;
  status: number | null;
  answer: string;
}

/** Loopback registries speak plain HTTP, as dockerd allows for 127.0.0.0/8 without configuration. */
function apiBase(registry: string): string {
  const host = registry === DOCKER_HUB ? DOCKER_HUB_API : registry;
  const name = host.replace(/:\d+$/, "");
  const loopback = name === "localhost" || /^127\.\d+\.\d+\.\d+$/.test(name) || name === "[::1]";
  return `${loopback ? "http" : "https"}://${host}`;
}

/** `Bearer realm="…",service="…",scope="…"` → its scheme and parameters. */
export function parseChallenge(header: string | null): { scheme: string; params: Record<string, string> } | null {
  if (!header) return null;
  const match = /^\s*(\w+)\s*(.*)$/.exec(header);
  if (!match) return null;
  const params: Record<string, string> = {};
  for (const m of match[2]!.matchAll(/(\w+)="([^"]*)"/g)) params[m[1]!.toLowerCase()] = m[2]!;
  return { scheme: match[1]!.toLowerCase(), params };
}

/** The registry's own words, short: `errors[0].code: message` of the API's error body, or the status text. */
async function answerOf(res: Response): Promise<string> {
  const text = (await res.text().catch(() => "")).slice(0, 4096);
  try {
    const body = JSON.parse(text) as { errors?: Array<{ code?: string; message?: string }>; details?: string };
    const e = body.errors?.[0];
    if (e) return `${e.code ?? "ERROR"}: ${e.message ?? ""}`.trim().slice(0, 300);
  } catch {
    // not JSON
  }
  return `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ""}`;
}

function basic(login: RegistryLogin): string {
  return `Basic ${Buffer.from(`${login.username}:${login.password}`).toString("base64")}`;
}

async function lookup(
  ref: ImageRef,
  login: RegistryLogin | undefined,
  deps: PreflightDeps,
): Promise<LookupFailure | null> {
  const url = `${apiBase(ref.registry)}/v2/${ref.repository}/manifests/${ref.reference}`;
  const signal = AbortSignal.any([deps.signal, AbortSignal.timeout(LOOKUP_TIMEOUT_MS)]);
  const get = (authorization?: string) =>
    deps.fetch(url, {
      method: "HEAD",
      headers: { accept: MANIFEST_ACCEPT, ...(authorization ? { authorization } : {}) },
      redirect: "follow",
      signal,
    });
  const fail = (status: number | null, answer: string): LookupFailure => ({
    image: ref.image,
    registry: ref.registry,
    status,
    answer,
  });
  try {
    let res = await get();
    if (res.status === 401) {
      const challenge = parseChallenge(res.headers.get("www-authenticate"));
      if (challenge?.scheme === "basic") {
        if (!login) return fail(401, "401 Unauthorized: the registry asks for a login and the environment has none");
        res = await get(basic(login));
      } else if (challenge?.scheme === "bearer" && challenge.params.realm) {
        const tokenUrl = new URL(challenge.params.realm);
        if (challenge.params.service) tokenUrl.searchParams.set("service", challenge.params.service);
        tokenUrl.searchParams.set("scope", challenge.params.scope ?? `repository:${ref.repository}:pull`);
        const tokenRes = await deps.fetch(tokenUrl, {
          headers: login ? { authorization: basic(login) } : {},
          redirect: "follow",
          signal,
        });
        if (!tokenRes.ok) return fail(tokenRes.status, `token service refused: ${await answerOf(tokenRes)}`);
        const body = (await tokenRes.json().catch(() => ({}))) as { token?: string; access_token?: string };
        const token = body.token ?? body.access_token;
        if (!token) return fail(tokenRes.status, "token service answered without a token");
        res = await get(`Bearer ${token}`);
      }
    }
    if (res.ok) return null;
    // HEAD has no body: ask again with GET for the registry's explanation.
    const explained = await deps
      .fetch(url, { method: "GET", headers: { accept: MANIFEST_ACCEPT }, signal })
      .catch(() => null);
    const answer = explained && !explained.ok ? await answerOf(explained) : `HTTP ${res.status}`;
    return fail(res.status, res.status === 401 ? `401 Unauthorized (${answer})` : answer);
  } catch (err) {
    if (deps.signal.aborted) throw err;
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return fail(null, `registry unreachable: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
  }
}

/** Throws DeployError IMAGE_PREFLIGHT_FAILED, after one event per failed image, unless every image resolves. */
export async function preflightImages(
  composeYaml: string,
  logins: readonly RegistryLogin[],
  deps: PreflightDeps,
): Promise<void> {
  const byRegistry = new Map(logins.map((l) => [l.registry, l]));
  const failures: LookupFailure[] = [];
  for (const image of composeImages(composeYaml)) {
    const ref = parseImageRef(image);
    const login = byRegistry.get(ref.registry);
    if (!login && (await deps.hasImage(image))) {
      deps.emit({
        level: "info",
        message: `pre-flight: ${image} is in this node's image store and no credential covers ${ref.registry}: not checked against the registry`,
        data: { image, registry: ref.registry, checked: false },
      });
      continue;
    }
    const failure = await lookup(ref, login, deps);
    if (!failure) {
      deps.emit({
        level: "info",
        message: `pre-flight: ${image} resolves on ${ref.registry}${login ? ` (as ${login.username})` : ""}`,
        data: { image, registry: ref.registry, checked: true },
      });
      continue;
    }
    failures.push(failure);
    deps.emit({
      level: "error",
      message: `pre-flight: ${image} cannot be pulled from ${ref.registry}: ${failure.answer}`,
      data: { image, registry: ref.registry, status: failure.status, answer: failure.answer },
    });
  }
  if (failures.length > 0) {
    const list = failures.map((f) => `${f.image} (${f.answer})`).join("; ");
    throw new DeployError(
      "IMAGE_PREFLIGHT_FAILED",
      `pre-flight: ${failures.length} image(s) cannot be pulled, nothing was changed: ${list}`,
    );
  }
}
