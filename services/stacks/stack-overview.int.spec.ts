/**
 * The stacks list's per-environment overview against real Postgres: health from an online cluster's inventory,
 * "unknown" once the cluster is offline, the release of the last successful deployment and the newest deployment.
 * Cluster facts and deployments are written as the agent ingest and the deploy pipeline write them.
 */
import { expect } from "chai";
import type { components } from "../../openapi/openapi.gen.js";
import { createOrgWithAdmin, uniqueName, type TestOrg } from "../_shared/testing/fixtures.js";
import type { ContractClient } from "../_shared/testing/http.js";
import { startTestStack, stopTestStack, type TestStack } from "../_shared/testing/stack.js";

type Overview = components["schemas"]["StackOverview"];

describe("stacks list with each environment's health, release and last deploy (real gateway, Postgres)", function () {
  this.timeout(60_000);
  let stack: TestStack;
  let api: ContractClient;
  let org: TestOrg;
  const post = <T>(path: string, body: unknown) => api.request<T>("POST", path, { body, headers: org.admin.auth });
  const list = async () => {
    const res = await api.request<{ items: Overview[] }>("GET", `/v1/orgs/${org.orgId}/stacks`, {
      headers: org.admin.auth,
    });
    expect(res.status).to.equal(200);
    return res.body.items;
  };

  before(async () => {
    stack = await startTestStack({ CLUSTER_OFFLINE_AFTER_SECONDS: "30" });
    api = stack.api;
    org = await createOrgWithAdmin(api);
  });
  after(() => stopTestStack(stack));

  it("reports health only from an online cluster, what runs and the newest deployment", async () => {
    const name = uniqueName("shop").replace(/[^a-z0-9-]/g, "");
    const cluster = await post<{ cluster: { id: string } }>(`/v1/orgs/${org.orgId}/clusters`, { name: "eu-1" });
    const clusterId = cluster.body.cluster.id;
    const s = await post<{ id: string }>(`/v1/orgs/${org.orgId}/stacks`, { name });
    const prod = await post<{ id: string; swarmStack: string }>(`/v1/stacks/${s.body.id}/environments`, {
      name: "prod",
      clusterId,
    });
    const staging = await post<{ id: string }>(`/v1/stacks/${s.body.id}/environments`, { name: "staging", clusterId });
    const releases: string[] = [];
    for (const image of ["nginx:1.26", "nginx:1.27"]) {
      const r = await post<{ id: string }>(`/v1/stacks/${s.body.id}/releases`, {
        sourceType: "upload",
        composeYaml: `services:\n  web:\n    image: ${image}\n`,
      });
      releases.push(r.body.id);
    }

    // A pending cluster: nothing known.
    let [item] = await list();
    expect(item!.environments.map((e) => [e.name, e.health, e.cluster.status])).to.deep.equal([
      ["prod", "unknown", "pending"],
      ["staging", "unknown", "pending"],
    ]);

    // Online with an inventory in which prod runs 1 of 2 replicas; v1 succeeded, then v2 failed.
    await stack
      .db("clusters")
      .where({ id: clusterId })
      .update({
        status: "online",
        last_seen_at: stack.db.fn.now(),
        inventory_at: stack.db.fn.now(),
        inventory_json: JSON.stringify({
          services: [],
          stacks: [
            { name: prod.body.swarmStack, serviceCount: 1, desiredReplicas: 2, runningReplicas: 1, converged: false },
          ],
          collectedAt: new Date().toISOString(),
        }),
      });
    const deployment = (releaseId: string, status: string, at: string) => ({
      org_id: org.orgId,
      environment_id: prod.body.id,
      release_id: releaseId,
      kind: "deploy",
      status,
      created_at: at,
      finished_at: at,
    });
    await stack
      .db("deployments")
      .insert([
        deployment(releases[0]!, "SUCCEEDED", "2026-01-01T10:00:00Z"),
        deployment(releases[1]!, "FAILED", "2026-01-01T11:00:00Z"),
      ]);
    [item] = await list();
    const [p, st] = item!.environments;
    expect(p).to.deep.include({ health: "degraded", replicas: { running: 1, desired: 2, services: 1 } });
    expect(p!.currentRelease).to.deep.equal({ version: 1, deployedAt: "2026-01-01T10:00:00.000Z" });
    expect(p!.lastDeployment).to.deep.include({ status: "FAILED", releaseVersion: 2 });
    expect(p!.cluster).to.deep.equal({ id: clusterId, name: "eu-1", status: "online" });
    expect(st).to.deep.include({ health: "not_running", currentRelease: null, lastDeployment: null });
    expect(staging.status).to.equal(201);

    // The heartbeat stops: offline, and the health is unknown again (the inventory is still there).
    await stack
      .db("clusters")
      .where({ id: clusterId })
      .update({ last_seen_at: new Date(Date.now() - 60_000) });
    [item] = await list();
    expect(item!.environments[0]).to.deep.include({ health: "unknown", replicas: null });
    expect(item!.environments[0]!.cluster.status).to.equal("offline");
  });
});
