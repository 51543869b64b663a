/**
 * Generated from openapi.yaml: every route × every role is checked against the permission table, every
 * org-scoped route against a caller from another org, and the spec against the gateway's routes.
 */
import { expect } from "chai";
import { randomUUID } from "node:crypto";
import type { Service } from "moleculer";
import type { Db } from "../_shared/db.js";
import { loadOpenApi, specOperations } from "../_shared/openapi.js";
import { ROLES, ROLE_PERMISSIONS, type Role } from "../_shared/permissions.js";
import { createOrgWithAdmin, createUserWithRole, type TestOrg, type TestUser } from "../_shared/testing/fixtures.js";
import { ContractClient } from "../_shared/testing/http.js";
import { type TestNatsServer } from "../_shared/testing/nats-server.js";
import { type TestPlatform } from "../_shared/testing/platform.js";
import type { RouteOperation } from "./routes.js";
import { startTestStack, stopTestStack } from "../_shared/testing/stack.js";

const routes = specOperations(loadOpenApi()).filter((op) => op.operation["x-action"]);
const guarded = routes.filter((op) => !(Array.isArray(op.operation.security) && op.operation.security.length === 0));
/**
 * The only domain actions with no REST route: called by other services of the control plane over the broker,
 * never by a client. Each one added here needs a reason.
 */
const BROKER_ONLY_ACTIONS = [
  // Preview environments (and any other internal caller) build a release from a commit as the system actor.
  "deployments.buildFromSource",
  // stacks' webhook receiver hands a verified, deduplicated pull-request delivery to the previews.
  "deployments.pullRequestEvent",
];

/** Routes whose request would end the caller's own session; checked separately so the walk keeps its sessions. */
const SESSION_ENDING = new Set(["logout"]);

function concretePath(template: string, orgId: string): string {
  return template.replace("{orgId}", orgId).replace(/\{[^}]+\}/g, () => randomUUID());
}

describe("RBAC and tenant isolation, generated from openapi.yaml (real gateway)", function () {
  this.timeout(120_000);
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let db: Db;
  let api: ContractClient;
  let orgA: TestOrg;
  let orgB: TestOrg;
  const users = new Map<Role, TestUser>();

  before(async () => {
    ({ db, nats, platform, api } = await startTestStack());
    orgA = await createOrgWithAdmin(api);
    orgB = await createOrgWithAdmin(api);
    users.set("ORG_ADMIN", orgA.admin);
    for (const role of ROLES.filter((r) => r !== "ORG_ADMIN"))
      users.set(role, await createUserWithRole(api, orgA, role));
  });
  after(async () => {
    await stopTestStack({ db, nats, platform });
  });

  it("serves exactly the routes the spec declares, each backed by a registered action", () => {
    const gateway = platform.broker.getLocalService("api") as Service & { routeTable(): RouteOperation[] };
    const served = gateway
      .routeTable()
      .map((r) => `${r.method} ${r.template}`)
      .sort();
    expect(served).to.deep.equal(routes.map((r) => `${r.method} ${r.path}`).sort());
    const registered = new Set(
      platform.broker.registry.getActionList({ onlyLocal: true, skipInternal: true }).map((a) => a.name),
    );
    for (const r of routes) expect(registered.has(r.operation["x-action"]!), r.operation["x-action"]).to.equal(true);
    // …and every action of the domain services is reachable through the spec, but the declared broker-only ones.
    const specActions = new Set(routes.map((r) => r.operation["x-action"]));
    const unreachable = [...registered].filter((name) => !name.startsWith("api.") && !specActions.has(name));
    expect(unreachable.sort()).to.deep.equal([...BROKER_ONLY_ACTIONS].sort());
  });

  for (const { method, path, operation } of guarded) {
    if (SESSION_ENDING.has(operation.operationId)) continue;
    const permission = operation["x-permission"];
    for (const role of ROLES) {
      const allowed = !permission || (ROLE_PERMISSIONS[role] as readonly string[]).includes(permission);
      it(`${method} ${path} as ${role} is ${allowed ? "allowed" : "forbidden"}`, async () => {
        const user = users.get(role)!;
        const res = await api.request<{ error?: { code: string; details?: { missingPermission?: string } } }>(
          method,
          concretePath(path, orgA.orgId),
          { headers: user.auth, ...(operation.requestBody ? { body: {} } : {}) },
        );
        expect(res.status).to.not.equal(401);
        if (allowed) {
          expect(res.status, JSON.stringify(res.body)).to.not.equal(403);
        } else {
          expect(res.status).to.equal(403);
          expect(res.body.error?.details?.missingPermission).to.equal(permission);
        }
      });
    }
  }

  for (const { method, path, operation } of guarded.filter((op) => op.path.includes("{orgId}"))) {
    it(`${method} ${path} answers 404 to another org's admin`, async () => {
      const res = await api.request<{ error: { code: string } }>(method, concretePath(path, orgA.orgId), {
        headers: orgB.admin.auth,
        ...(operation.requestBody ? { body: {} } : {}),
      });
      expect(res.status).to.equal(404);
    });
  }

  it("lets nobody reach another org's token even through their own org's URL", async () => {
    const created = await api.request<{ id: string }>("POST", `/v1/orgs/${orgA.orgId}/tokens`, {
      body: { name: "a-token", scopes: ["audit:read"] },
      headers: orgA.admin.auth,
    });
    const res = await api.request("DELETE", `/v1/orgs/${orgB.orgId}/tokens/${created.body.id}`, {
      headers: orgB.admin.auth,
    });
    expect(res.status).to.equal(404);
    const [row] = await db("api_tokens").where({ id: created.body.id });
    expect(row.revoked_at).to.equal(null);
  });

  it("answers a method the path does not offer with 405 and Allow", async () => {
    const res = await fetch(`${platform.baseUrl}/v1/orgs/${orgA.orgId}/tokens`, {
      method: "PUT",
      headers: orgA.admin.auth,
    });
    expect(res.status).to.equal(405);
    expect(res.headers.get("allow")).to.equal("GET, POST");
    expect(((await res.json()) as { error: { code: string } }).error.code).to.equal("METHOD_NOT_ALLOWED");
  });
});
