/** The audit log lists names for its actors and targets and filters by target (real gateway and Postgres). */
import { expect } from "chai";
import type { components } from "../../openapi/openapi.gen.js";
import { createOrgWithAdmin, uniqueName, type TestOrg } from "../_shared/testing/fixtures.js";
import type { ContractClient } from "../_shared/testing/http.js";
import { startTestStack, stopTestStack, type TestStack } from "../_shared/testing/stack.js";

type Page = { items: Array<components["schemas"]["AuditEntry"]>; nextCursor: string | null };

describe("audit entries with names (real gateway, Postgres)", function () {
  this.timeout(60_000);
  let stack: TestStack;
  let api: ContractClient;
  let org: TestOrg;
  const post = <T>(path: string, body: unknown) => api.request<T>("POST", path, { body, headers: org.admin.auth });
  const audit = (query: string) =>
    api.request<Page>("GET", `/v1/orgs/${org.orgId}/audit?${query}`, { headers: org.admin.auth });

  before(async () => {
    stack = await startTestStack();
    api = stack.api;
    org = await createOrgWithAdmin(api);
  });
  after(() => stopTestStack(stack));

  it("names clusters, stacks, environments (stack / env), releases (stack vN) and the acting user", async () => {
    const stackName = uniqueName("shop").replace(/[^a-z0-9-]/g, "");
    const cluster = await post<{ cluster: { id: string } }>(`/v1/orgs/${org.orgId}/clusters`, { name: "eu-1" });
    const s = await post<{ id: string }>(`/v1/orgs/${org.orgId}/stacks`, { name: stackName });
    const env = await post<{ id: string }>(`/v1/stacks/${s.body.id}/environments`, {
      name: "prod",
      clusterId: cluster.body.cluster.id,
    });
    const release = await post<{ id: string }>(`/v1/stacks/${s.body.id}/releases`, {
      sourceType: "upload",
      composeYaml: "services:\n  web:\n    image: nginx:1.27\n",
    });
    expect([cluster.status, s.status, env.status, release.status]).to.deep.equal([201, 201, 201, 201]);

    const page = await audit("limit=50");
    expect(page.status).to.equal(200);
    const byTarget = new Map(page.body.items.map((e) => [e.targetId, e]));
    expect(byTarget.get(cluster.body.cluster.id)?.targetName).to.equal("eu-1");
    expect(byTarget.get(s.body.id)?.targetName).to.equal(stackName);
    expect(byTarget.get(env.body.id)?.targetName).to.equal(`${stackName} / prod`);
    expect(byTarget.get(release.body.id)?.targetName).to.equal(`${stackName} v1`);
    expect(byTarget.get(env.body.id)?.actorName).to.equal(org.admin.email);

    const onlyEnv = await audit(`targetType=environment&targetId=${env.body.id}`);
    expect(onlyEnv.status).to.equal(200);
    expect(onlyEnv.body.items.map((e) => e.action)).to.deep.equal(["environment.create"]);
    const byActor = await audit(`actor=${org.admin.userId}&targetType=cluster`);
    expect(byActor.body.items.map((e) => e.targetName)).to.deep.equal(["eu-1"]);
  });

  it("answers a target id that is not a uuid with no name rather than an error", async () => {
    const res = await audit("targetType=environment&targetId=not-a-uuid");
    expect(res.status).to.equal(200);
    expect(res.body.items).to.deep.equal([]);
  });
});
