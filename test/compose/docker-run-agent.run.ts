/**
 * The `docker run` install command a new cluster shows, pasted as it is into bash on this machine (a Swarm
 * manager), with the agent image `make test-compose` has just built (`stackyard/agent:dev`, the default
 * AGENT_IMAGE): the agent registers, the cluster comes online, the token is in no process's argv, and the state
 * lives in the named volume the command names. Runs after compose-up.run.ts (mocha sorts the files), against a
 * control plane of its own on loopback (the compose project's NATS is reachable only by its service name).
 *
 * The command uses fixed names (container `stackyard-agent`, volume `stackyard-agent-state`): when either already
 * exists on this machine it is somebody's agent, and the test is skipped rather than touch it.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { components } from "../../openapi/openapi.gen.js";
import { DOCKER_STATE_VOLUME } from "../../services/clusters/agent-install.js";
import { DEFAULT_AGENT_IMAGE } from "../../services/_shared/config.js";
import { createOrgWithAdmin, waitForClusterOnline, type TestOrg } from "../../services/_shared/testing/fixtures.js";
import { startTestStack, stopTestStack, type TestStack } from "../../services/_shared/testing/stack.js";
import { spawnShellText, stopShellText, type AgentProcess } from "../../services/_shared/testing/swarm.js";

type Schemas = components["schemas"];
type Created = Schemas["RegistrationToken"] & { cluster: Schemas["Cluster"] };

const run = promisify(execFile);
const CONTAINER = "stackyard-agent";

async function exists(kind: "container" | "volume", name: string): Promise<boolean> {
  return run("docker", [kind, "inspect", name]).then(
    () => true,
    () => false,
  );
}

describe("the docker run install command shown for a new cluster runs as shown", function () {
  this.timeout(180_000);
  let stack: TestStack | undefined;
  let org: TestOrg;
  let shell: AgentProcess | null = null;
  let ours = false;

  before(async function () {
    if (
      !(await run("docker", ["image", "inspect", DEFAULT_AGENT_IMAGE]).then(
        () => true,
        () => false,
      ))
    ) {
      throw new Error(`the agent image ${DEFAULT_AGENT_IMAGE} is missing: compose-up.run.ts builds it first`);
    }
    if ((await exists("container", CONTAINER)) || (await exists("volume", DOCKER_STATE_VOLUME))) {
      console.log(`    skipped: a container ${CONTAINER} or volume ${DOCKER_STATE_VOLUME} already exists here`);
      this.skip();
    }
    ours = true;
    stack = await startTestStack();
    org = await createOrgWithAdmin(stack.api);
  });

  after(async () => {
    await stopShellText(shell);
    if (ours) {
      const logs = await run("docker", ["logs", "--tail", "40", CONTAINER]).catch(() => undefined);
      if (logs && process.exitCode) console.error(logs.stdout + logs.stderr);
      await run("docker", ["rm", "-f", CONTAINER]).catch(() => undefined);
      await run("docker", ["volume", "rm", "-f", DOCKER_STATE_VOLUME]).catch(() => undefined);
    }
    if (stack) await stopTestStack(stack);
  });

  it("registers, runs detached with a restart policy, the cluster online, the token in no argv", async () => {
    const api = stack!.api;
    const res = await api.request<Created>("POST", `/v1/orgs/${org.orgId}/clusters`, {
      body: { name: "docker-run" },
      headers: org.admin.auth,
    });
    expect(res.status).to.equal(201);
    const { cluster, registrationToken, agentInstall } = res.body;
    expect(agentInstall.docker.command).to.include(DEFAULT_AGENT_IMAGE);
    expect(agentInstall.docker.command).not.to.match(new RegExp(`docker run[^\\n]*${registrationToken}`));

    shell = spawnShellText(agentInstall.docker.command, {});
    const code = await shell.exited;
    expect(code, shell.output.join("\n")).to.equal(0);

    const online = await waitForClusterOnline<Schemas["Cluster"]>(api, org, cluster.id, 90_000).catch(
      async (err: unknown) => {
        const logs = await run("docker", ["logs", "--tail", "40", CONTAINER]).catch(() => ({ stdout: "", stderr: "" }));
        throw new Error(`${String(err)}\n--- agent container ---\n${logs.stdout}${logs.stderr}`);
      },
    );
    expect(online.facts).to.have.property("agentVersion");

    const inspect = JSON.parse((await run("docker", ["inspect", CONTAINER])).stdout) as Array<{
      State: { Running: boolean };
      HostConfig: { RestartPolicy: { Name: string } };
      Config: { Env: string[] };
      Mounts: Array<{ Type: string; Name?: string; Destination: string }>;
    }>;
    const agent = inspect[0]!;
    expect(agent.State.Running).to.equal(true);
    expect(agent.HostConfig.RestartPolicy.Name).to.equal("unless-stopped");
    expect(agent.Mounts.some((m) => m.Type === "volume" && m.Name === DOCKER_STATE_VOLUME)).to.equal(true);
    // The running agent needs no token: it was only passed by name to the one-off register container.
    expect(agent.Config.Env.join("\n")).not.to.include(registrationToken);
    const { stdout } = await run("ps", ["-eo", "args"]);
    expect(stdout).not.to.include(registrationToken);
  });
});
