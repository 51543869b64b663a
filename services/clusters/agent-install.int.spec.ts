/**
 * The from-source install command a new cluster shows, run as it is (bash at the root of this checkout, with a
 * fresh HOME) against a real control plane, real NATS and this machine's dockerd: the cluster comes online, the
 * agent keeps its state where the command says, and no process ever carries the token in its arguments.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { components } from "../../openapi/openapi.gen.js";
import { createOrgWithAdmin, waitForClusterOnline, type TestOrg } from "../_shared/testing/fixtures.js";
import type { ContractClient } from "../_shared/testing/http.js";
import { startTestStack, stopTestStack, type TestStack } from "../_shared/testing/stack.js";
import { spawnShellText, stopShellText, type AgentProcess } from "../_shared/testing/swarm.js";

type Schemas = components["schemas"];
type Created = Schemas["RegistrationToken"] & { cluster: Schemas["Cluster"] };

describe("the agent install command shown for a new cluster runs as shown", function () {
  this.timeout(90_000);
  let stack: TestStack;
  let api: ContractClient;
  let org: TestOrg;
  let home: string;
  let shell: AgentProcess | null = null;

  before(async () => {
    stack = await startTestStack();
    api = stack.api;
    org = await createOrgWithAdmin(api);
    home = await mkdtemp(join(tmpdir(), "stackyard-install-home-"));
  });
  afterEach(function () {
    if (this.currentTest?.state === "failed" && shell) console.error(shell.output.slice(-40).join("\n"));
  });
  after(async () => {
    await stopShellText(shell);
    await stopTestStack(stack);
    await rm(home, { recursive: true, force: true });
  });

  it("from a checkout: the cluster comes online, state in $HOME/.stackyard-agent, the token in no argv", async () => {
    const res = await api.request<Created>("POST", `/v1/orgs/${org.orgId}/clusters`, {
      body: { name: "from-source" },
      headers: org.admin.auth,
    });
    expect(res.status).to.equal(201);
    const { cluster, registrationToken, agentInstall } = res.body;
    expect(agentInstall.fromSource.stateDir).to.equal("$HOME/.stackyard-agent");

    shell = spawnShellText(agentInstall.fromSource.command, { HOME: home });
    const online = await waitForClusterOnline<Schemas["Cluster"]>(api, org, cluster.id);
    expect(online.facts).to.have.property("agentVersion");
    expect((await stat(join(home, ".stackyard-agent/state.json"))).isFile()).to.equal(true);
    const { stdout } = await promisify(execFile)("ps", ["-eo", "args"]);
    expect(stdout).not.to.include(registrationToken);
  });
});
