/**
 * `docker build` and `docker push` through the Engine API (dockerode), never the CLI: the build context is a tar
 * stream, every line of the daemon's JSON progress stream is handed on, and an `errorDetail` becomes an error.
 * The classic builder keeps its layer cache in the daemon, so a later build of the same stack on this node reuses
 * every unchanged layer.
 */
import Docker from "dockerode";
import type { Readable } from "node:stream";
import type { RegistryLogin } from "../deploy/types.js";

export interface BuildOptions {
  image: string;
  dockerfile: string;
  args: Record<string, string>;
  target: string | null;
  labels: Record<string, string>;
}

export interface BuildEngine {
  /** Resolves when the image is built; rejects with DockerStreamError carrying the daemon's message. */
  build(context: Readable, opts: BuildOptions, onLine: (line: string) => void, signal: AbortSignal): Promise<void>;
  /** Pushes `image` (`repo:tag`) and returns the manifest digest the registry answered (`sha256:...`). */
  push(
    image: string,
    login: RegistryLogin | null,
    onLine: (line: string) => void,
    signal: AbortSignal,
  ): Promise<string>;
}

export class DockerStreamError extends Error {
  override name = "DockerStreamError";
}

interface ProgressLine {
  stream?: string;
  status?: string;
  id?: string;
  progress?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { Digest?: string; ID?: string };
}

function follow(
  docker: Docker,
  stream: NodeJS.ReadableStream,
  onLine: (line: string) => void,
): Promise<ProgressLine[]> {
  return new Promise((resolve, reject) => {
    let failure: string | null = null;
    docker.modem.followProgress(
      stream,
      (err: Error | null, all: ProgressLine[]) => {
        if (err) reject(err);
        else if (failure !== null) reject(new DockerStreamError(failure));
        else resolve(all);
      },
      (line: ProgressLine) => {
        if (line.error || line.errorDetail) {
          failure = line.errorDetail?.message ?? line.error ?? "the daemon reported an error";
          return;
        }
        if (typeof line.stream === "string") {
          for (const l of line.stream.split("\n")) if (l.trim() !== "") onLine(l.replace(/\r/g, ""));
        } else if (typeof line.status === "string" && !line.progress) {
          onLine(line.id ? `${line.id}: ${line.status}` : line.status);
        }
      },
    );
  });
}

export function createDockerBuildEngine(opts: { socketPath: string }): BuildEngine {
  const docker = new Docker({ socketPath: opts.socketPath });
  return {
    async build(context, o, onLine, signal) {
      const stream = await docker.buildImage(context, {
        t: o.image,
        dockerfile: o.dockerfile,
        buildargs: o.args,
        ...(o.target ? { target: o.target } : {}),
        labels: o.labels,
        rm: true,
        forcerm: true,
        abortSignal: signal,
      } as Docker.ImageBuildOptions);
      await follow(docker, stream, onLine);
    },
    async push(image, login, onLine, signal) {
      const at = image.lastIndexOf(":");
      const name = image.slice(0, at);
      const tag = image.slice(at + 1);
      const stream = (await docker.getImage(name).push({
        tag,
        abortSignal: signal,
        // Always an auth header: the daemon refuses a push with none to some registries; an empty one is anonymous.
        authconfig: login
          ? { username: login.username, password: login.password, serveraddress: login.registry }
          : { serveraddress: image.split("/")[0] ?? "" },
      } as never)) as unknown as NodeJS.ReadableStream;
      const lines = await follow(docker, stream, onLine);
      const digest = lines.map((l) => l.aux?.Digest).find((d): d is string => typeof d === "string");
      if (!digest || !/^sha256:[0-9a-f]{64}$/.test(digest)) {
        throw new DockerStreamError(`the registry did not answer a digest for ${image}`);
      }
      return digest;
    },
  };
}
