import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { expect } from "chai";
import { ApiClient } from "../../api/client.js";
import type { Deployment, EnvironmentStatus, EnvironmentSync, ReleaseSummary } from "../../api/types.js";
import {
  apiError,
  fakeFetch,
  json,
  memoryStore,
  sseEnd,
  sseEvent,
  sseResponse,
  tokenPair,
  type RecordedRequest,
} from "../../../test/fake-fetch.js";
import { renderApp } from "../../../test/render.js";
import { consoleDeployment } from "./DeploymentsPanel.js";
import { agentOfflineReason, previousSuccessfulRelease } from "./EnvironmentPage.js";

const ORG = "11111111-1111-4111-8111-111111111111";
const ENV = "22222222-2222-4222-8222-222222222222";
const STACK = "33333333-3333-4333-8333-333333333333";
const USER = "44444444-4444-4444-8444-444444444444";
const SOURCE = "55555555-5555-4555-8555-555555555555";
const release = (version: number): ReleaseSummary => ({
  id: `r${version}`,
  stackId: STACK,
  version,
  sourceType: "upload",
  sourceRef: `build ${version}`,
  sha256: "ab".repeat(32),
  warnings: [],
  createdBy: USER,
  createdAt: new Date(Date.now() - version * 60_000).toISOString(),
  state: "ready",
  buildId: null,
});
const deployment = (id: string, version: number, status: Deployment["status"], kind = "deploy"): Deployment => ({
  id,
  environmentId: ENV,
  releaseId: `r${version}`,
  releaseVersion: version,
  kind: kind as Deployment["kind"],
  status,
  createdAt: "2026-01-01T10:00:00.000Z",
  startedAt: "2026-01-01T10:00:01.000Z",
  finishedAt: status === "SUCCEEDED" ? "2026-01-01T10:00:09.000Z" : null,
  durationMs: status === "SUCCEEDED" ? 8_000 : null,
  createdBy: USER,
  createdByType: "user",
  errorMessage: null,
  errorCode: null,
  policyViolations: null,
  adopt: false,
  rollbackOf: null,
  images: null,
  promotedFrom: null,
  approval: null,
});

const me = {
  user: { id: USER, orgId: ORG, email: "ops@acme.test", role: "APP_ADMIN", createdAt: "", lastLoginAt: null },
  org: { id: ORG, name: "acme", createdAt: "" },
  role: "APP_ADMIN",
  permissions: ["stacks:read", "stacks:write", "secrets:write", "deployments:read", "deployments:write"],
  actorType: "user",
  tokenId: null,
  orgs: [{ id: ORG, name: "acme", role: "APP_ADMIN", userId: USER }],
};

const status: EnvironmentStatus = {
  environmentId: ENV,
  stackName: "shop",
  source: "agent",
  observedAt: "2026-01-01T10:01:00.000Z",
  ageSeconds: 0,
  agentError: null,
  agent: { status: "online", lastSeenAt: "2026-01-01T10:01:00.000Z", offlineSince: null },
  desiredRelease: { id: "r2", version: 2 },
  inSync: false,
  sync: { state: "drifted", reason: "the live stack differs from release v2" },
  replicaOverrides: {},
  missingServices: [],
  extraServices: ["shop_old"],
  driftComparison: "full",
  services: [
    {
      name: "web",
      swarmName: "shop_web",
      image: "nginx:1.27",
      mode: "replicated",
      desiredReplicas: 3,
      runningReplicas: 2,
      replicaOverride: null,
      drift: ["env X=1 added", "replicas 3 ≠ desired 2"],
      driftFields: [
        { field: "env", desired: ["A=1"], live: ["A=1", "X=1"], summary: "env X=1 added" },
        { field: "replicas", desired: 2, live: 3, summary: "replicas 3 ≠ desired 2" },
      ],
      comparison: "full",
      updateStatus: { state: "paused", message: "update paused due to failure or early termination of task t2" },
      tasks: [
        {
          id: "t1",
          state: "running",
          desiredState: "running",
          message: "started",
          error: null,
          nodeId: "n1",
          timestamp: "",
        },
        {
          id: "t2",
          state: "running",
          desiredState: "running",
          message: "started",
          error: null,
          nodeId: "n1",
          timestamp: "",
        },
        {
          id: "t3",
          state: "pending",
          desiredState: "running",
          message: "no suitable node (insufficient memory)",
          error: null,
          nodeId: null,
          timestamp: "",
        },
      ],
    },
  ],
};

/** The environment as the API shows it: v2 deployed (after v1), v3 uploaded but not deployed. */
function backend(
  posts: RecordedRequest[],
  answers: {
    post?: (req: RecordedRequest) => Response;
    status?: EnvironmentStatus;
    deployments?: Deployment[];
    replicaOverrides?: Record<string, number>;
    sync?: EnvironmentSync;
    /** The answer to PUT …/pin (default: pinned with the reason sent). */
    pin?: (req: RecordedRequest) => Response;
    /** The signed-in user's permissions (default: an APP_ADMIN's). */
    permissions?: string[];
  } = {},
) {
  return (req: RecordedRequest): Response => {
    const p = req.path;
    if (req.method === "POST" && !p.startsWith("/v1/auth/")) {
      posts.push(req);
      if (answers.post) return answers.post(req);
    }
    if (p === "/v1/auth/refresh") return json(200, tokenPair(1));
    if (p === "/v1/auth/me") return json(200, answers.permissions ? { ...me, permissions: answers.permissions } : me);
    if (p === `/v1/environments/${ENV}`) {
      return json(200, {
        id: ENV,
        stackId: STACK,
        name: "staging",
        clusterId: "c1",
        swarmStack: "shop-staging",
        deployTimeoutSeconds: 300,
        replicaOverrides: answers.replicaOverrides ?? {},
        ...(answers.sync ? { sync: answers.sync } : {}),
        createdAt: "",
        stack: { id: STACK, name: "shop" },
        cluster: { id: "c1", name: "edge" },
        currentRelease: release(2),
        currentDeploymentId: "d2",
      });
    }
    if (p === `/v1/git-sources/${SOURCE}`) {
      return json(200, {
        id: SOURCE,
        stackId: STACK,
        repoUrl: "https://git.example/acme/shop.git",
        ref: "main",
        path: "deploy/compose.yml",
        credentialId: null,
        pollIntervalSeconds: 60,
        webhookUrl: `https://stackyard.example/v1/webhooks/git/${SOURCE}`,
        lastCommit: "0123456789abcdef0123456789abcdef01234567",
        lastReleaseId: "r3",
        lastCheckedAt: null,
        lastError: null,
        createdAt: "",
      });
    }
    if (req.method === "PUT" && p === `/v1/environments/${ENV}/sync`) {
      posts.push(req);
      return json(200, {
        id: ENV,
        stackId: STACK,
        name: "staging",
        clusterId: "c1",
        swarmStack: "shop-staging",
        deployTimeoutSeconds: 300,
        replicaOverrides: {},
        onFailure: "rollback",
        sync: { mode: "automatic", sourceId: SOURCE, pinned: null },
        createdAt: "2026-01-01T10:00:00.000Z",
      });
    }
    if (req.method === "PUT" && p === `/v1/environments/${ENV}/pin`) {
      posts.push(req);
      if (answers.pin) return answers.pin(req);
      const { reason } = req.body as { reason: string };
      answers.sync = {
        ...(answers.sync ?? { mode: "manual", sourceId: null }),
        pinned: { reason, pinnedAt: "2026-01-01T10:02:00.000Z", pinnedBy: "ops@acme.test" },
      };
      return json(200, { id: ENV, sync: answers.sync });
    }
    if (req.method === "DELETE" && p === `/v1/environments/${ENV}/pin`) {
      posts.push(req);
      return json(200, { deploymentIds: ["d9"] });
    }
    if (p === `/v1/stacks/${STACK}/releases`) return json(200, { items: [release(3), release(2), release(1)] });
    if (p === `/v1/environments/${ENV}/deployments`) {
      return json(200, {
        items: answers.deployments ?? [deployment("d2", 2, "SUCCEEDED"), deployment("d1", 1, "SUCCEEDED")],
        nextBefore: null,
      });
    }
    if (p === "/v1/deployments/d2/events") {
      return sseResponse([sseEvent({ seq: 0, message: "queued: deploy of release v2" }), sseEnd("d2", "SUCCEEDED")])
        .response;
    }
    if (p === `/v1/environments/${ENV}/status`) return json(200, answers.status ?? status);
    if (p === `/v1/environments/${ENV}/overlay`) {
      return json(200, { environmentId: ENV, envJson: {}, composePatchYaml: "", updatedBy: null, updatedAt: "x" });
    }
    if (p === `/v1/environments/${ENV}/secrets`) return json(200, { items: [] });
    if (p === `/v1/environments/${ENV}/diff`) {
      const to = new URLSearchParams(req.search).get("to") ?? "";
      const version = Number(to.slice(1));
      return json(200, {
        environmentId: ENV,
        from: { kind: "current", releaseId: "r2", releaseVersion: 2 },
        to: { kind: "release", releaseId: to, releaseVersion: version },
        unified: `-    image: nginx:1.27\n+    image: nginx:1.${25 + version}\n`,
        services: {
          added: [],
          removed: [],
          changed: [{ name: "web", image: { from: "nginx:1.27", to: `nginx:1.${25 + version}` } }],
        },
      });
    }
    return apiError(404, "NOT_FOUND");
  };
}

function open(handler: (req: RecordedRequest) => Response) {
  const { fetch } = fakeFetch(handler);
  return renderApp(new ApiClient({ store: memoryStore("refresh-0"), fetch }), `/orgs/${ORG}/environments/${ENV}`);
}

describe("EnvironmentPage", () => {
  it("follows the last deployment's console and lists the history, the services and their drift", async () => {
    open(backend([]));
    await screen.findByRole("heading", { level: 1, name: "shop / staging" });
    expect(screen.getByTitle("docker stack deploy name").textContent, "the environment's Swarm stack").to.equal(
      "shop-staging",
    );
    const current = screen.getByRole("region", { name: "Current deployment" });
    await within(current).findByText("queued: deploy of release v2");
    await within(current).findByText("Finished:");
    expect(within(current).getByRole("heading").textContent).to.match(/^Deploy of v2/);

    const history = screen.getByRole("region", { name: "Deployment history" });
    const rows = within(history).getAllByRole("row").slice(1);
    expect(rows.map((r) => r.getAttribute("data-status"))).to.deep.equal(["SUCCEEDED", "SUCCEEDED"]);
    expect(rows[0]?.textContent).to.contain("you (ops@acme.test)").and.to.contain("8 s");

    const services = screen.getByRole("region", { name: "Services" });
    const web = await within(services).findByText("shop_web");
    const row = web.closest("tr")!;
    expect(row.textContent).to.contain("2/3").and.to.contain("replicas 3 ≠ desired 2");
    expect(row.textContent).to.contain("pending: no suitable node (insufficient memory)");
    expect(within(services).getByText("out of sync")).to.exist;
    // The "drifted" badge names the fields; each field's summary is listed, Swarm's update state shown.
    const badge = within(row).getByTestId("drifted");
    expect(badge.textContent).to.equal("drifted: env, replicas");
    expect(badge.getAttribute("title")).to.equal("env X=1 added\nreplicas 3 ≠ desired 2");
    expect([...row.querySelectorAll("[data-field]")].map((li) => li.textContent)).to.deep.equal([
      "env X=1 added",
      "replicas 3 ≠ desired 2",
    ]);
    const update = within(row).getByTestId("update-state");
    expect(update.textContent).to.equal("update paused");
    expect(update.getAttribute("title")).to.contain("update paused due to failure");
    expect(within(services).getByTestId("extra-services").textContent).to.contain("shop_old");
  });

  it("shows the diff of the chosen release before deploying, and retries with the same Idempotency-Key", async () => {
    const posts: RecordedRequest[] = [];
    let attempts = 0;
    open(
      backend(posts, {
        post: () =>
          ++attempts === 1 ? apiError(503, "SERVICE_UNAVAILABLE") : json(202, deployment("d3", 3, "PENDING")),
      }),
    );
    fireEvent.click(await screen.findByRole("button", { name: "Deploy…" }));
    const dialog = await screen.findByRole("dialog", { name: "Deploy a release" });
    await within(dialog).findByText("nginx:1.27 → nginx:1.28");
    expect(within(dialog).getByRole("heading", { level: 3 }).textContent).to.equal("What changes: current (v2) → v3");

    fireEvent.click(within(dialog).getByRole("button", { name: "Deploy v3" }));
    await within(dialog).findByRole("alert");
    fireEvent.click(within(dialog).getByRole("button", { name: "Deploy v3" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).to.equal(null));

    const deploys = posts.filter((r) => r.path === `/v1/environments/${ENV}/deployments`);
    expect(deploys.map((r) => r.body)).to.deep.equal([{ releaseId: "r3" }, { releaseId: "r3" }]);
    const keys = deploys.map((r) => r.headers.get("idempotency-key"));
    expect(keys[0]).to.match(/^[0-9a-f-]{36}$/);
    expect(keys[1], "a retry of the same choice is the same request").to.equal(keys[0]);
  });

  it("choosing another release gets a new Idempotency-Key", async () => {
    const posts: RecordedRequest[] = [];
    open(
      backend(posts, {
        post: (req) =>
          (req.body as { releaseId: string }).releaseId === "r3"
            ? apiError(503, "SERVICE_UNAVAILABLE")
            : json(202, deployment("d3", 1, "PENDING")),
      }),
    );
    fireEvent.click(await screen.findByRole("button", { name: "Deploy…" }));
    const dialog = await screen.findByRole("dialog", { name: "Deploy a release" });
    fireEvent.click(within(dialog).getByRole("button", { name: "Deploy v3" }));
    await within(dialog).findByRole("alert");
    fireEvent.change(within(dialog).getByRole("combobox"), { target: { value: "r1" } });
    await within(dialog).findByText("nginx:1.27 → nginx:1.26");
    fireEvent.click(within(dialog).getByRole("button", { name: "Deploy v1" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).to.equal(null));
    expect(posts.map((r) => r.body)).to.deep.equal([{ releaseId: "r3" }, { releaseId: "r1" }]);
    const [first, second] = posts.map((r) => r.headers.get("idempotency-key"));
    expect(second).to.match(/^[0-9a-f-]{36}$/);
    expect(second, "a different request must not reuse the key").to.not.equal(first);
  });

  it("says a rollback of an auto-synced environment pins it", async () => {
    open(backend([], { sync: { mode: "automatic", sourceId: SOURCE, pinned: null } }));
    expect((await screen.findByTestId("sync-mode")).textContent).to.contain("Automatic");
    expect((await screen.findByTestId("sync-source")).textContent).to.contain("deploy/compose.yml");
    fireEvent.click(await screen.findByRole("button", { name: "Roll back…" }));
    const dialog = await screen.findByRole("dialog", { name: "Roll back" });
    expect(within(dialog).getByTestId("rollback-pins-notice").textContent).to.contain(
      "rolling back pins it, pausing automatic sync",
    );
  });

  it("shows a pinned environment with its reason, and Unpin resumes", async () => {
    const requests: RecordedRequest[] = [];
    open(
      backend(requests, {
        sync: {
          mode: "automatic",
          sourceId: SOURCE,
          pinned: { reason: "manual rollback to release v1 by ops@acme.test", pinnedAt: "", pinnedBy: "ops@acme.test" },
        },
      }),
    );
    expect((await screen.findByTestId("sync-pinned")).textContent).to.contain("manual rollback to release v1");
    fireEvent.click(screen.getByRole("button", { name: "Roll back…" }));
    const dialog = await screen.findByRole("dialog", { name: "Roll back" });
    expect(within(dialog).queryByTestId("rollback-pins-notice"), "already pinned").to.equal(null);
    fireEvent.click(within(dialog).getByRole("button", { name: "Cancel" }));
    fireEvent.click(screen.getByRole("button", { name: "Unpin and deploy the newest commit" }));
    await waitFor(() =>
      expect(requests.map((r) => `${r.method} ${r.path}`)).to.include(`DELETE /v1/environments/${ENV}/pin`),
    );
  });

  it("pins an auto-synced environment by hand with a reason, then shows the pin", async () => {
    const requests: RecordedRequest[] = [];
    open(backend(requests, { sync: { mode: "automatic", sourceId: SOURCE, pinned: null } }));
    const form = await screen.findByRole("form", { name: "Pin" });
    expect(form.textContent).to.contain("Pinning pauses automatic sync");
    const button = within(form).getByRole("button", { name: "Pin" });
    expect((button as HTMLButtonElement).disabled, "no reason yet").to.equal(true);
    fireEvent.change(within(form).getByLabelText("Reason for pinning"), {
      target: { value: "  incident 42: hold v2  " },
    });
    fireEvent.click(button);
    expect((await screen.findByTestId("sync-pinned")).textContent).to.contain("incident 42: hold v2 (ops@acme.test)");
    const pins = requests.filter((r) => r.method === "PUT" && r.path === `/v1/environments/${ENV}/pin`);
    expect(pins.map((r) => r.body)).to.deep.equal([{ reason: "incident 42: hold v2" }]);
    expect(screen.queryByRole("form", { name: "Pin" }), "pinned: Unpin instead").to.equal(null);
    expect(screen.getByRole("button", { name: "Unpin and deploy the newest commit" })).to.not.equal(null);
  });

  it("shows a refused pin with the API's whole message, and keeps the reason typed", async () => {
    open(
      backend([], {
        sync: { mode: "manual", sourceId: null, pinned: null },
        pin: () =>
          json(404, {
            error: { code: "ENVIRONMENT_NOT_FOUND", message: "environment staging was deleted by ops@acme.test" },
          }),
      }),
    );
    const form = await screen.findByRole("form", { name: "Pin" });
    fireEvent.change(within(form).getByLabelText("Reason for pinning"), { target: { value: "freeze" } });
    fireEvent.click(within(form).getByRole("button", { name: "Pin" }));
    const alert = await within(form).findByRole("alert");
    expect(alert.textContent).to.contain("environment staging was deleted by ops@acme.test");
    expect(alert.textContent).to.contain("Code: ENVIRONMENT_NOT_FOUND");
    expect((within(form).getByLabelText("Reason for pinning") as HTMLInputElement).value).to.equal("freeze");
    expect(screen.queryByTestId("sync-pinned")).to.equal(null);
  });

  it("offers neither Pin nor Unpin without deployments:write", async () => {
    open(
      backend([], {
        permissions: ["stacks:read", "deployments:read"],
        sync: { mode: "automatic", sourceId: SOURCE, pinned: null },
      }),
    );
    await screen.findByTestId("sync-mode");
    expect(screen.queryByRole("form", { name: "Pin" })).to.equal(null);
  });

  it("shows a viewer the pin without Unpin", async () => {
    open(
      backend([], {
        permissions: ["stacks:read", "deployments:read"],
        sync: {
          mode: "manual",
          sourceId: null,
          pinned: { reason: "held for the audit", pinnedAt: "", pinnedBy: null },
        },
      }),
    );
    expect((await screen.findByTestId("sync-pinned")).textContent).to.contain("held for the audit");
    expect(screen.queryByRole("button", { name: /^Unpin/ })).to.equal(null);
    expect(screen.queryByRole("form", { name: "Pin" })).to.equal(null);
  });

  it("sets up auto-sync from a manual environment and shows the webhook secret once", async () => {
    const requests: RecordedRequest[] = [];
    open(
      backend(requests, {
        sync: { mode: "manual", sourceId: null, pinned: null },
        post: (req) =>
          req.path === `/v1/stacks/${STACK}/git-sources`
            ? json(201, {
                id: SOURCE,
                stackId: STACK,
                repoUrl: "https://git.example/acme/shop.git",
                ref: "main",
                path: "deploy/compose.yml",
                credentialId: null,
                pollIntervalSeconds: 30,
                webhookUrl: `https://stackyard.example/v1/webhooks/git/${SOURCE}`,
                lastCommit: null,
                lastReleaseId: null,
                lastCheckedAt: null,
                lastError: null,
                createdAt: "2026-01-01T10:00:00.000Z",
                webhookSecret: "whsec_shown-once",
              })
            : apiError(404, "NOT_FOUND"),
      }),
    );
    fireEvent.change(await screen.findByLabelText("Repository URL"), {
      target: { value: "https://git.example/acme/shop.git" },
    });
    fireEvent.change(screen.getByLabelText("Compose file path"), { target: { value: "deploy/compose.yml" } });
    fireEvent.change(screen.getByLabelText("Poll interval (seconds)"), { target: { value: "30" } });
    fireEvent.click(screen.getByRole("button", { name: "Sync automatically" }));
    await waitFor(() =>
      expect(requests.map((r) => `${r.method} ${r.path}`)).to.include(`PUT /v1/environments/${ENV}/sync`),
    );
    expect(requests[0]?.body).to.deep.equal({
      repoUrl: "https://git.example/acme/shop.git",
      ref: "main",
      path: "deploy/compose.yml",
      pollIntervalSeconds: 30,
    });
    expect(requests[1]?.body).to.deep.equal({ mode: "automatic", sourceId: SOURCE });
    expect((await screen.findByTestId("secret-Webhook secret")).textContent).to.equal("whsec_shown-once");
  });

  it("says nothing about sync for a manual environment beyond that it is manual", async () => {
    open(backend([], { sync: { mode: "manual", sourceId: null, pinned: null } }));
    expect((await screen.findByTestId("sync-mode")).textContent).to.contain("Manual");
    expect(screen.queryByTestId("sync-pinned")).to.equal(null);
  });

  it("warns that volumes and data are not rolled back and preselects the previous successful release", async () => {
    const posts: RecordedRequest[] = [];
    open(backend(posts, { post: () => json(202, deployment("d3", 1, "PENDING", "rollback")) }));
    fireEvent.click(await screen.findByRole("button", { name: "Roll back…" }));
    const dialog = await screen.findByRole("dialog", { name: "Roll back" });
    expect(within(dialog).getByTestId("rollback-warning").textContent).to.contain(
      "Volumes and data are NOT rolled back.",
    );
    const select = within(dialog).getByRole<HTMLSelectElement>("combobox");
    expect(select.value).to.equal("r1");
    expect(
      [...select.options].map((o) => o.value),
      "the deployed release is not offered",
    ).to.deep.equal(["r3", "r1"]);
    expect(select.options[select.selectedIndex]?.text).to.contain("previous successful");
    await within(dialog).findByText("nginx:1.27 → nginx:1.26");
    fireEvent.click(within(dialog).getByRole("button", { name: "Roll back to v1" }));
    await waitFor(() => expect(posts).to.have.length(1));
    expect(posts[0]?.path).to.equal(`/v1/environments/${ENV}/rollback`);
    expect(posts[0]?.body).to.deep.equal({ releaseId: "r1" });
    expect(posts[0]?.headers.get("idempotency-key")).to.match(/^[0-9a-f-]{36}$/);
  });

  it("scales a service with the number entered", async () => {
    const posts: RecordedRequest[] = [];
    open(
      backend(posts, {
        post: () =>
          json(200, { environmentId: ENV, service: "web", swarmService: "shop_web", previousReplicas: 3, replicas: 5 }),
      }),
    );
    const services = await screen.findByRole("region", { name: "Services" });
    const row = (await within(services).findByText("shop_web")).closest("tr")!;
    fireEvent.click(within(row).getByRole("button", { name: "Scale" }));
    const dialog = await screen.findByRole("dialog", { name: "Scale web" });
    fireEvent.change(within(dialog).getByLabelText("Replicas"), { target: { value: "5" } });
    fireEvent.click(within(dialog).getByRole("button", { name: "Scale to 5" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).to.equal(null));
    expect(posts.map((r) => [r.path, r.body])).to.deep.equal([
      [`/v1/environments/${ENV}/services/web/scale`, { replicas: 5 }],
    ]);
  });
});

describe("EnvironmentPage while the agent is offline or a deployment runs", () => {
  const offlineStatus: EnvironmentStatus = {
    ...status,
    source: "inventory",
    agentError: "the cluster's agent is offline since 2026-01-01T09:00:00.000Z (the cluster's agent is not connected)",
    agent: { status: "offline", lastSeenAt: "2026-01-01T09:00:00.000Z", offlineSince: "2026-01-01T09:00:00.000Z" },
    inSync: null,
    sync: { state: "unknown", reason: "unknown (agent offline since 2026-01-01T09:00:00.000Z)" },
  };

  it("says the sync state is unknown, disables Scale and Logs with the reason, and warns Deploy will wait", async () => {
    open(backend([], { status: offlineStatus }));
    const services = await screen.findByRole("region", { name: "Services" });
    const row = (await within(services).findByText("shop_web")).closest("tr")!;
    const scale = within(row).getByRole<HTMLButtonElement>("button", { name: "Scale" });
    const logs = within(row).getByRole<HTMLButtonElement>("button", { name: "Logs" });
    expect(scale.disabled).to.equal(true);
    expect(logs.disabled).to.equal(true);
    expect(scale.title).to.match(/^the cluster's agent is offline since /);
    expect(within(services).getByTestId("runtime-blocked").textContent).to.match(
      /^Scale and Logs are unavailable: the cluster's agent is offline since /,
    );
    const sync = within(services).getByTestId("sync-unknown");
    expect(sync.textContent).to.match(/^unknown \(agent offline since .*2026.*\)$/);
    expect(sync.title).to.equal("unknown (agent offline since 2026-01-01T09:00:00.000Z)");
    expect(within(services).queryByText("in sync")).to.equal(null);

    fireEvent.click(screen.getByRole("button", { name: "Deploy…" }));
    const dialog = await screen.findByRole("dialog", { name: "Deploy a release" });
    expect(within(dialog).getByTestId("agent-offline-notice").textContent).to.match(
      /offline since .*waits for the agent to connect, and fails if it does not connect in time/,
    );
  });

  it("says a deployment is running: Scale disabled with why, the deploy and rollback dialogs say they queue", async () => {
    const running = { ...deployment("d3", 3, "RUNNING"), finishedAt: null };
    open(
      backend([], {
        deployments: [running, deployment("d2", 2, "SUCCEEDED"), deployment("d1", 1, "SUCCEEDED")],
      }),
    );
    const services = await screen.findByRole("region", { name: "Services" });
    const row = (await within(services).findByText("shop_web")).closest("tr")!;
    const scale = within(row).getByRole<HTMLButtonElement>("button", { name: "Scale" });
    expect(scale.disabled).to.equal(true);
    expect(scale.title).to.equal("deployment of v3 is running; scale when it ends");
    expect(within(row).getByRole<HTMLButtonElement>("button", { name: "Logs" }).disabled).to.equal(false);

    fireEvent.click(screen.getByRole("button", { name: "Deploy…" }));
    let dialog = await screen.findByRole("dialog", { name: "Deploy a release" });
    expect(within(dialog).getByTestId("queue-notice").textContent).to.equal(
      "Deployment of v3 is running.This deployment is queued behind it and starts when it ends.",
    );
    within(dialog).getByRole("button", { name: /^Queue: Deploy v/ });
    fireEvent.click(within(dialog).getByRole("button", { name: "Cancel" }));

    fireEvent.click(screen.getByRole("button", { name: "Roll back…" }));
    dialog = await screen.findByRole("dialog", { name: "Roll back" });
    expect(within(dialog).getByTestId("queue-notice").textContent).to.contain(
      "It goes back to v1, fixed now: the target does not change when the running deployment ends.",
    );
    within(dialog).getByRole("button", { name: "Queue: Roll back to v1" });
  });

  it("marks a release that failed here in the picker and does not preselect it", async () => {
    const failedRun = { ...deployment("d3", 3, "FAILED"), errorMessage: "No such image" };
    open(
      backend([], {
        deployments: [failedRun, deployment("d2", 2, "SUCCEEDED"), deployment("d1", 1, "SUCCEEDED")],
        replicaOverrides: { web: 3 },
      }),
    );
    const compare = await screen.findByLabelText<HTMLSelectElement>("Release to compare");
    await waitFor(() => expect(compare.options[0]?.text).to.equal("release v3 · ✗ failed here"));
    fireEvent.click(await screen.findByRole("button", { name: "Deploy…" }));
    const dialog = await screen.findByRole("dialog", { name: "Deploy a release" });
    const select = within(dialog).getByRole<HTMLSelectElement>("combobox");
    await waitFor(() => expect(select.options[0]?.text).to.contain("✗ failed here"));
    expect(select.value, "the newest release that did not just fail").to.equal("r2");
    expect(within(dialog).getByTestId("replica-overrides-note").textContent).to.contain("web 3");
    fireEvent.change(select, { target: { value: "r3" } });
    expect(within(dialog).getByTestId("failed-release-note").textContent).to.contain("v3");
  });
});

describe("which deployment the environment page follows", () => {
  it("is the running one, else the oldest queued one, else the newest", () => {
    const d = (id: string, s: Deployment["status"]) => deployment(id, 1, s);
    expect(consoleDeployment([d("c", "PENDING"), d("b", "RUNNING"), d("a", "SUCCEEDED")])?.id).to.equal("b");
    expect(consoleDeployment([d("c", "PENDING"), d("b", "PENDING"), d("a", "FAILED")])?.id).to.equal("b");
    expect(consoleDeployment([d("b", "FAILED"), d("a", "SUCCEEDED")])?.id).to.equal("b");
    expect(consoleDeployment([])).to.equal(null);
  });

  it("rolls back by default to the last successful release before the current one", () => {
    expect(
      previousSuccessfulRelease([
        deployment("d4", 3, "FAILED"),
        deployment("d3", 2, "SUCCEEDED"),
        deployment("d2", 2, "SUCCEEDED"),
        deployment("d1", 1, "SUCCEEDED"),
      ]),
    ).to.equal("r1");
    expect(previousSuccessfulRelease([deployment("d1", 1, "SUCCEEDED")])).to.equal(null);
  });
});

describe("agentOfflineReason", () => {
  const since = "2026-12-03T12:00:00.000Z";
  it("says a link-down site cannot reach the hub, an offline agent is offline, and nothing while it is there", () => {
    expect(agentOfflineReason({ status: "link_down", lastSeenAt: since, offlineSince: since })).to.match(
      /^The cluster's site cannot reach the hub \(link down\) since /,
    );
    expect(agentOfflineReason({ status: "offline", lastSeenAt: since, offlineSince: since })).to.match(
      /^The cluster's agent is offline since /,
    );
    expect(agentOfflineReason({ status: "online", lastSeenAt: since, offlineSince: null })).to.equal(null);
  });
});
