/**
 * Restart and roll back one service through the API, end to end on the real single-node Swarm (real control
 * plane, real agent, real dockerd): a restart replaces every task with the same spec; a rollback returns the
 * spec before the last update; both audited with their outcome; a
 * viewer is refused; a rollback of a service never updated is a 409 with a code.
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { createUserWithRole } from "../../services/_shared/testing/fixtures.js";
import { docker, testStackCompose as compose } from "../../services/_shared/testing/swarm.js";
import { startSwarmWorld, type SwarmWorld, type WorldEnvironment } from "../../services/_shared/testing/swarm-world.js";
import { until } from "../../services/_shared/testing/wait.js";

interface ActionResult {
  service: string;
  swarmService: string;
  action: "restart" | "rollback";
  image: string;
  note: string;
}

describe("service restart and rollback (real agent, real control plane, real Swarm)", function () {
  this.timeout(150_000);
  let world: SwarmWorld;
  let env: WorldEnvironment;
  const swarmService = () => `${env.swarmStack}_app`;

  const act = (action: string, headers = world.auth()) =>
    world.api.request<ActionResult & { error?: { code: string; message: string } }>(
      "POST",
      `/v1/environments/${env.id}/services/app/actions`,
      { body: { action }, headers },
    );
  const runningTasks = async () =>
    (
      await docker(
        "service",
        "ps",
        swarmService(),
        "--filter",
        "desired-state=running",
        "--format",
        "{{.ID}} {{.CurrentState}}",
      )
    )
      .split("\n")
      .filter((l) => l.includes("Running"))
      .map((l) => l.split(" ")[0]!);
  const envVars = async () =>
    JSON.parse(
      await docker("service", "inspect", swarmService(), "--format", "{{json .Spec.TaskTemplate.ContainerSpec.Env}}"),
    ) as string[] | null;

  before(async function () {
    this.timeout(240_000);
    world = await startSwarmWorld({ clusterName: "ops-swarm" });
    const stackId = await world.createStack(`ops${randomBytes(3).toString("hex")}`);
    env = await world.createEnvironment(stackId, "prod");
    const v1 = await world.uploadRelease(stackId, compose({ command: ["sleep", "3600"], replicas: 2 }));
    await world.deploy(env, v1);
  });
  after(async function () {
    this.timeout(120_000);
    await world?.stop();
  });

  it("refuses a rollback of a service never updated (409), and a viewer's request (403)", async () => {
    const none = await act("rollback");
    expect(none.status, JSON.stringify(none.body)).to.equal(409);
    expect(none.body.error?.code).to.equal("SERVICE_NO_PREVIOUS_SPEC");
    const viewer = await createUserWithRole(world.api, world.org, "VIEWER");
    expect((await act("restart", viewer.auth)).status).to.equal(403);
  });

  it("restarts: every task replaced, same spec, audited", async () => {
    const before = await until("2 running tasks", async () => {
      const t = await runningTasks();
      return t.length === 2 ? t : undefined;
    });
    const res = await act("restart");
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body).to.include({ action: "restart", swarmService: swarmService() });
    await until(
      "2 new running tasks",
      async () => {
        const now = await runningTasks();
        return now.length === 2 && now.every((id) => !before.includes(id)) ? now : undefined;
      },
      60_000,
    );
    const audit = await world.db("audit_events").where({ org_id: world.org.orgId, action: "service.restart" });
    expect(audit).to.have.length(1);
    expect(audit[0].data_json).to.deep.include({ service: "app", outcome: "succeeded" });
  });

  it("rolls back to the spec before a hand-made update, audited", async () => {
    await docker("service", "update", "--detach", "--env-add", "HOTFIX=1", swarmService());
    expect(await envVars()).to.include("HOTFIX=1");
    const res = await act("rollback");
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body.note).to.contain("previous Swarm spec");
    await until("the previous spec", async () => (((await envVars()) ?? []).includes("HOTFIX=1") ? undefined : true));
    const audit = await world.db("audit_events").where({ org_id: world.org.orgId, action: "service.rollback" });
    expect(audit[0].data_json).to.deep.include({ service: "app", outcome: "succeeded" });
  });
});
