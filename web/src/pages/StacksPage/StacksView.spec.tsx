import { screen, within } from "@testing-library/react";
import { expect } from "chai";
import type { EnvironmentOverview, StackOverview } from "../../api/types.js";
import { renderInRouter } from "../../../test/render.js";
import { StacksView } from "./StacksView.js";

const env = (name: string, over: Partial<EnvironmentOverview>): EnvironmentOverview => ({
  id: `env-${name}`,
  name,
  cluster: { id: "c1", name: "eu-1", status: "online" },
  health: "healthy",
  replicas: { running: 2, desired: 2, services: 1 },
  observedAt: new Date().toISOString(),
  currentRelease: { version: 3, deployedAt: new Date().toISOString() },
  lastDeployment: {
    id: `d-${name}`,
    status: "SUCCEEDED",
    releaseVersion: 3,
    createdAt: new Date().toISOString(),
    finishedAt: new Date().toISOString(),
  },
  ...over,
});

const stack: StackOverview = {
  id: "s1",
  orgId: "o1",
  name: "shop",
  description: "the web shop",
  createdBy: null,
  createdAt: new Date().toISOString(),
  environments: [
    env("prod", {}),
    env("staging", {
      health: "degraded",
      replicas: { running: 1, desired: 2, services: 1 },
      lastDeployment: {
        id: "d-staging",
        status: "FAILED",
        releaseVersion: 4,
        createdAt: new Date().toISOString(),
        finishedAt: null,
      },
    }),
    env("qa", { health: "unknown", replicas: null, cluster: { id: "c2", name: "lab", status: "offline" } }),
    env("new", { health: "not_running", replicas: null, currentRelease: null, lastDeployment: null }),
  ],
};

describe("StacksView", () => {
  it("shows each environment's health, what it runs and its last deploy, and says when health is unknown", () => {
    renderInRouter(
      <StacksView
        state={{ data: [stack], error: undefined, isLoading: false, onRetry: () => undefined }}
        stackHref={() => "/s"}
        environmentHref={(id) => `/e/${id}`}
        deploymentHref={(id) => `/d/${id}`}
        clusterHref={(id) => `/c/${id}`}
        canCreate={false}
        onCreate={() => undefined}
      />,
    );
    const row = (name: string) => within(document.querySelector<HTMLElement>(`[data-environment="${name}"]`)!);
    expect(row("prod").getByTestId("health").textContent).to.equal("healthy 2/2");
    expect(row("prod").getByTestId("current-release").textContent).to.equal("runs v3");
    expect(row("prod").getByRole("link", { name: "v3 succeeded" }).getAttribute("href")).to.equal("/d/d-prod");
    expect(row("staging").getByTestId("health").textContent).to.equal("degraded 1/2");
    expect(row("staging").getByTestId("last-deploy").textContent).to.equal("v4 failed");
    expect(row("qa").getByTestId("health").textContent).to.equal("unknown");
    expect(row("qa").getByText(/cluster offline/)).to.exist;
    expect(row("new").getByText("nothing deployed")).to.exist;
    expect(row("new").getByTestId("health").textContent).to.equal("not running");
    expect(screen.getByRole("link", { name: "prod" }).getAttribute("href")).to.equal("/e/env-prod");
  });
});
