import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { expect } from "chai";
import { ApiClient } from "../../api/client.js";
import { apiError, fakeFetch, json, memoryStore, tokenPair, type RecordedRequest } from "../../../test/fake-fetch.js";
import { renderApp } from "../../../test/render.js";

const ORG = "11111111-1111-4111-8111-111111111111";
const ENV = "22222222-2222-4222-8222-222222222222";
const STACK = "33333333-3333-4333-8333-333333333333";
const USER = "44444444-4444-4444-8444-444444444444";
const me = (permissions: string[]) => ({
  user: { id: USER, orgId: ORG, email: "ops@acme.test", role: "APP_ADMIN", createdAt: "", lastLoginAt: null },
  org: { id: ORG, name: "acme", createdAt: "" },
  role: "APP_ADMIN",
  permissions,
  actorType: "user",
  tokenId: null,
  orgs: [{ id: ORG, name: "acme", role: "APP_ADMIN", userId: USER }],
});
const release = (version: number) => ({
  id: `r${version}`,
  stackId: STACK,
  version,
  sourceType: "upload",
  sourceRef: `build ${version}`,
  sha256: "ab".repeat(32),
  warnings: [],
  createdBy: USER,
  createdAt: "2026-01-01T10:00:00.000Z",
  state: "ready",
  buildId: null,
});

function backend(posts: RecordedRequest[], permissions: string[]) {
  return (req: RecordedRequest): Response => {
    const p = req.path;
    if (p === "/v1/auth/refresh") return json(200, tokenPair(1));
    if (p === "/v1/auth/me") return json(200, me(permissions));
    if (req.method === "POST" && p === `/v1/environments/${ENV}/deployments`) {
      posts.push(req);
      if (posts.length === 1) return apiError(503, "AGENT_UNREACHABLE");
      return json(202, { id: "d9", environmentId: ENV, releaseId: "r3", releaseVersion: 3, status: "PENDING" });
    }
    if (p === `/v1/environments/${ENV}`) {
      return json(200, {
        id: ENV,
        stackId: STACK,
        name: "prod",
        clusterId: "c1",
        swarmStack: "shop-prod",
        deployTimeoutSeconds: 300,
        createdAt: "",
        stack: { id: STACK, name: "shop" },
        cluster: { id: "c1", name: "edge" },
        currentRelease: release(2),
        currentDeploymentId: "d2",
      });
    }
    if (p === `/v1/stacks/${STACK}/releases`) return json(200, { items: [release(3), release(2)] });
    if (p === `/v1/environments/${ENV}/diff`) {
      return json(200, {
        environmentId: ENV,
        from: { kind: "current", releaseId: "r2", releaseVersion: 2 },
        to: { kind: "release", releaseId: "r3", releaseVersion: 3 },
        unified: "-    image: nginx:1.26\n+    image: nginx:1.27\n",
        services: {
          added: [],
          removed: [],
          changed: [{ name: "web", image: { from: "nginx:1.26", to: "nginx:1.27" } }],
        },
      });
    }
    if (p === `/v1/orgs/${ORG}/stacks/${STACK}`) {
      return json(200, {
        id: STACK,
        orgId: ORG,
        name: "shop",
        description: "",
        createdBy: null,
        createdAt: "",
        latestRelease: release(3),
        environments: [
          {
            id: ENV,
            stackId: STACK,
            name: "prod",
            clusterId: "c1",
            swarmStack: "shop-prod",
            deployTimeoutSeconds: 300,
            createdAt: "",
            lastDeployment: { id: "d2", status: "SUCCEEDED", releaseVersion: 2, createdAt: "" },
          },
        ],
      });
    }
    if (p === "/v1/releases/r3")
      return json(200, { ...release(3), composeYaml: "services:\n  web:\n    image: nginx:1.27\n" });
    return apiError(404, "NOT_FOUND");
  };
}

const WRITE = ["stacks:read", "deployments:read", "deployments:write"];

describe("Deploy from the release and diff pages", () => {
  it("deploys the compared release from the diff page, retrying with the same key, then opens the deployment", async () => {
    const posts: RecordedRequest[] = [];
    const { fetch } = fakeFetch(backend(posts, WRITE));
    const app = renderApp(
      new ApiClient({ store: memoryStore("refresh-0"), fetch }),
      `/orgs/${ORG}/environments/${ENV}/diff?from=current&to=r3`,
    );
    await screen.findByText("nginx:1.26 → nginx:1.27");
    fireEvent.click(await screen.findByRole("button", { name: "Deploy v3" }));
    const dialog = await screen.findByRole("dialog", { name: "Deploy v3 to shop / prod?" });
    expect(dialog.textContent).to.include("replaces current (v2)");
    fireEvent.click(within(dialog).getByRole("button", { name: "Deploy v3" }));
    await within(dialog).findByRole("alert");
    fireEvent.click(within(dialog).getByRole("button", { name: "Deploy v3" }));
    await waitFor(() => expect(app.location()).to.equal(`/orgs/${ORG}/deployments/d9`));
    expect(posts.map((r) => (r.body as { releaseId: string }).releaseId)).to.deep.equal(["r3", "r3"]);
    const [a, b] = posts.map((r) => r.headers.get("idempotency-key"));
    expect(a).to.match(/^[0-9a-f-]{36}$/);
    expect(b).to.equal(a);
  });

  it("says why Deploy is disabled without deployments:write", async () => {
    const { fetch } = fakeFetch(backend([], ["stacks:read", "deployments:read"]));
    renderApp(
      new ApiClient({ store: memoryStore("refresh-0"), fetch }),
      `/orgs/${ORG}/environments/${ENV}/diff?from=current&to=r3`,
    );
    const button = await screen.findByRole<HTMLButtonElement>("button", { name: "Deploy v3" });
    await waitFor(() => expect(button.title).to.equal("Needs the deployments:write permission"));
    expect(button.disabled).to.equal(true);
  });

  it("offers each environment of the stack on the release page, through its diff", async () => {
    const { fetch } = fakeFetch(backend([], WRITE));
    const app = renderApp(new ApiClient({ store: memoryStore("refresh-0"), fetch }), `/orgs/${ORG}/releases/r3`);
    const link = await screen.findByRole("link", { name: "Deploy v3 to prod…" });
    expect(screen.getByText(/last deployment v2 succeeded/)).to.exist;
    fireEvent.click(link);
    await waitFor(() => expect(app.location()).to.equal(`/orgs/${ORG}/environments/${ENV}/diff?from=current&to=r3`));
  });
});
