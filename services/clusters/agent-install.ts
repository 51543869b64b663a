/**
 * The agent install commands shown with a registration token: one for the agent image and one for a checkout.
 * Both are shell text meant to be pasted as they are. The token goes into the environment with `export` (a shell
 * builtin, so it never appears in any process's argv, which `ps` shows to every user of the host); the agent
 * reads STACKYARD_AGENT_TOKEN itself, and `docker run -e NAME` passes it on by name.
 */

export const TOKEN_VARIABLE = "STACKYARD_AGENT_TOKEN";
/** The named volume the image's state directory lives on, and that directory inside the container. */
export const DOCKER_STATE_VOLUME = "stackyard-agent-state";
export const IMAGE_STATE_DIR = "/var/lib/stackyard-agent";
/** A checkout's agent keeps its state in the home directory of whoever runs it (absolute once the shell expands it). */
export const FROM_SOURCE_STATE_DIR = "$HOME/.stackyard-agent";
const DOCKER_SOCKET = "/var/run/docker.sock";
const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

export interface AgentInstallMethod {
  command: string;
  stateDir: string;
  requires: string;
}

export interface AgentInstall {
  tokenVariable: typeof TOKEN_VARIABLE;
  docker: AgentInstallMethod;
  fromSource: AgentInstallMethod;
}

/** Quotes for a POSIX shell when the text is not plainly safe. */
export function shellQuote(text: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}

/** The agent refuses plain http to anything but loopback unless told this is development. */
function needsAllowHttp(publicUrl: string): boolean {
  try {
    const url = new URL(publicUrl);
    return url.protocol === "http:" && !LOOPBACK_HOSTS.has(url.hostname);
  } catch {
    return false;
  }
}

export function agentInstall(publicUrl: string, token: string, image: string): AgentInstall {
  const url = shellQuote(publicUrl);
  const allowHttp = needsAllowHttp(publicUrl);
  const exports = [`export ${TOKEN_VARIABLE}=${shellQuote(token)}`];
  if (allowHttp) exports.push("export STACKYARD_AGENT_ALLOW_HTTP=true");

  // Host networking: the agent reaches the control plane and NATS exactly as the host does (a loopback URL too)
  // and reports the host's name. The image runs as a non-root user, so it joins the socket's group.
  const mounts = [
    `-v ${DOCKER_STATE_VOLUME}:${IMAGE_STATE_DIR}`,
    `-v ${DOCKER_SOCKET}:${DOCKER_SOCKET}`,
    `--group-add "$(stat -c %g ${DOCKER_SOCKET})"`,
    "--network host",
  ].join(" ");
  const passEnv = [`-e ${TOKEN_VARIABLE}`, ...(allowHttp ? ["-e STACKYARD_AGENT_ALLOW_HTTP"] : [])].join(" ");
  const img = shellQuote(image);
  const docker = [
    ...exports,
    `docker run --rm ${passEnv} ${mounts} ${img} register --url ${url}`,
    `docker run -d --name stackyard-agent --restart unless-stopped ${mounts} ${img} run`,
  ].join("\n");

  const fromSource = [
    ...exports,
    `export STACKYARD_AGENT_STATE_DIR="${FROM_SOURCE_STATE_DIR}"`,
    `bash scripts/agent.sh register --url ${url} && bash scripts/agent.sh run`,
  ].join("\n");

  return {
    tokenVariable: TOKEN_VARIABLE,
    docker: {
      command: docker,
      stateDir: `the Docker volume ${DOCKER_STATE_VOLUME} (${IMAGE_STATE_DIR} in the container)`,
      requires: `a Swarm manager with Docker and the agent image ${image} (built with docker build -f docker/Dockerfile.agent -t ${image} . in a checkout)`,
    },
    fromSource: {
      command: fromSource,
      stateDir: FROM_SOURCE_STATE_DIR,
      requires:
        "a Swarm manager; run it at the root of a Stackyard checkout (scripts/agent.sh installs Node 22 and the npm packages when missing), as a user who may use the Docker socket",
    },
  };
}
