/**
 * What a compose file with `build:` asks for, and the frozen compose once the images exist. Pure functions over the
 * YAML document (comments and order kept), tested without a broker.
 *
 * `build:` is a context string or `{ context, dockerfile, args, target }` (compose-spec); `args` a map or a list of
 * `KEY=value`. Contexts and Dockerfiles are paths inside the repository, relative to the compose file's directory;
 * anything that leaves the repository (`..` above the root, absolute paths, URLs) is refused.
 */
import { createHash } from "node:crypto";
import { isMap, parseDocument, type Document } from "yaml";
import { UnprocessableError } from "../../_shared/errors.js";
import type { BuildServicePayload } from "../../../nats/protocol/messages.js";

export interface BuildSpec {
  service: string;
  /** The context directory relative to the repository root ("" for the root). */
  context: string;
  dockerfile: string;
  args: Record<string, string>;
  target: string | null;
}

export class BuildSpecError extends UnprocessableError {
  constructor(message: string, details?: Record<string, unknown>) {
    super("BUILD_SPEC_INVALID", message, details);
  }
}

/** `a/./b/../c` → `a/c` inside the repository; null when it leaves the root or is not a relative path. */
export function normaliseRepoPath(base: string, path: string): string | null {
  if (path.startsWith("/") || /^[a-z][a-z0-9+.-]*:/i.test(path) || /\p{Cc}/u.test(path)) return null;
  const out: string[] = [];
  for (const seg of [...base.split("/"), ...path.split("/")]) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      if (out.length === 0) return null;
      out.pop();
    } else out.push(seg);
  }
  return out.join("/");
}

function asRecord(value: unknown): Record<string, unknown> | null {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}

/** The services of `composeYaml` that have `build:`, resolved against the compose file's directory `composeDir`. */
export function buildSpecs(composeYaml: string, composeDir: string): BuildSpec[] {
  const doc = parseDocument(composeYaml, { merge: true, uniqueKeys: true });
  if (doc.errors.length > 0)
    throw new BuildSpecError(`the compose file is not valid YAML: ${doc.errors[0]?.message ?? ""}`);
  const services = asRecord(asRecord(doc.toJS())?.services) ?? {};
  const specs: BuildSpec[] = [];
  for (const [service, raw] of Object.entries(services)) {
    const build = asRecord(raw)?.build;
    if (build === undefined || build === null) continue;
    const b = typeof build === "string" ? { context: build } : asRecord(build);
    if (!b) throw new BuildSpecError(`service "${service}": build must be a context path or a mapping`, { service });
    const contextRaw = b.context ?? ".";
    if (typeof contextRaw !== "string")
      throw new BuildSpecError(`service "${service}": build.context must be a path`, { service });
    const context = normaliseRepoPath(composeDir, contextRaw);
    if (context === null) {
      throw new BuildSpecError(
        `service "${service}": build.context "${contextRaw}" must be a directory inside the repository`,
        { service },
      );
    }
    const dockerfileRaw = b.dockerfile ?? "Dockerfile";
    const dockerfile = typeof dockerfileRaw === "string" ? normaliseRepoPath("", dockerfileRaw) : null;
    if (!dockerfile) {
      throw new BuildSpecError(`service "${service}": build.dockerfile must be a path inside the context`, { service });
    }
    if (b.dockerfile_inline !== undefined || b.ssh !== undefined || b.secrets !== undefined) {
      throw new BuildSpecError(`service "${service}": build.dockerfile_inline, ssh and secrets are not supported`, {
        service,
      });
    }
    const args: Record<string, string> = {};
    const rawArgs = b.args;
    if (Array.isArray(rawArgs)) {
      for (const item of rawArgs) {
        const [k, ...v] = String(item).split("=");
        if (k) args[k] = v.join("=");
      }
    } else if (asRecord(rawArgs)) {
      for (const [k, v] of Object.entries(asRecord(rawArgs)!)) args[k] = v === null ? "" : String(v);
    }
    for (const k of Object.keys(args)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]{0,255}$/.test(k))
        throw new BuildSpecError(`service "${service}": invalid build arg "${k}"`, { service });
    }
    const target = b.target === undefined || b.target === null ? null : String(b.target);
    if (target !== null && !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(target)) {
      throw new BuildSpecError(`service "${service}": invalid build.target`, { service });
    }
    specs.push({ service, context, dockerfile, args, target });
  }
  return specs;
}

/**
 * The tag of a built image: the commit and a digest of what makes the image (the commit's context directory, the
 * Dockerfile, args and target), so one commit built twice the same way gets the same tag.
 */
export function imageTag(commit: string, spec: BuildSpec): string {
  const content = createHash("sha256")
    .update(JSON.stringify([commit, spec.context, spec.dockerfile, Object.entries(spec.args).sort(), spec.target]))
    .digest("hex");
  return `${commit.slice(0, 12)}-${content.slice(0, 12)}`;
}

/** `<registry>/<stack>/<service>`, lower-cased to what image references accept. */
export function imageRepository(registry: string, stackName: string, service: string): string {
  const clean = (s: string) =>
    s
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, "-")
      .replace(/^[._-]+/, "") || "x";
  return `${registry}/${clean(stackName)}/${clean(service)}`;
}

export function buildPayloads(
  specs: BuildSpec[],
  registry: string,
  stackName: string,
  commit: string,
): BuildServicePayload[] {
  return specs.map((s) => ({
    service: s.service,
    context: s.context,
    dockerfile: s.dockerfile,
    args: s.args,
    target: s.target,
    image: `${imageRepository(registry, stackName, s.service)}:${imageTag(commit, s)}`,
  }));
}

/**
 * The compose to freeze: every built service's `build:` removed and its `image:` set to the pushed reference.
 * `images` must name exactly the built services, each under its expected repository with a sha256 digest.
 */
export function freezeBuiltCompose(
  composeYaml: string,
  images: Record<string, string>,
  expectedRepositories: Record<string, string>,
): string {
  const doc: Document.Parsed = parseDocument(composeYaml, { merge: true, uniqueKeys: true });
  const services = doc.get("services");
  if (!isMap(services)) throw new BuildSpecError("the compose file has no services mapping");
  for (const [service, repository] of Object.entries(expectedRepositories)) {
    const image = images[service];
    if (image === undefined || !image.startsWith(`${repository}@sha256:`) || !/@sha256:[0-9a-f]{64}$/.test(image)) {
      throw new BuildSpecError(`the build reported no pushed digest for service "${service}"`, { service });
    }
    doc.setIn(["services", service, "image"], image);
    doc.deleteIn(["services", service, "build"]);
  }
  return doc.toString();
}

/** The compose with a placeholder image for every built service: what validation and policy checks see up front. */
export function withPlaceholderImages(
  composeYaml: string,
  specs: BuildSpec[],
  registry: string,
  stackName: string,
): string {
  const images = Object.fromEntries(
    specs.map((s) => [s.service, `${imageRepository(registry, stackName, s.service)}@sha256:${"0".repeat(64)}`]),
  );
  const repos = Object.fromEntries(specs.map((s) => [s.service, imageRepository(registry, stackName, s.service)]));
  return freezeBuiltCompose(composeYaml, images, repos);
}
