import { fireEvent, screen, within } from "@testing-library/react";
import { expect } from "chai";
import type { Deployment } from "../../api/types.js";
import { renderInRouter } from "../../../test/render.js";
import { DeploymentView, type NextActions } from "./DeploymentView.js";
import type { ApprovalActions } from "./ApprovalPanel.js";

const failed: Deployment = {
  id: "d-failed",
  environmentId: "e1",
  releaseId: "r2",
  releaseVersion: 2,
  kind: "deploy",
  status: "FAILED",
  createdAt: new Date().toISOString(),
  startedAt: new Date().toISOString(),
  finishedAt: new Date().toISOString(),
  durationMs: 1300,
  createdBy: "u1",
  createdByType: "user",
  errorMessage: "service shop-prod_web: No such image: local/doesnotexist:9 (task 2 rejected; Swarm paused the update)",
  errorCode: null,
  policyViolations: null,
  adopt: false,
  rollbackOf: null,
  promotedFrom: null,
  approval: null,
  rolledBackBy: null,
  images: null,
};

function show(d: Deployment, next: Partial<NextActions> = {}, approval: Partial<ApprovalActions> = {}) {
  const clicked: string[] = [];
  renderInRouter(
    <DeploymentView
      state={{ data: d, error: undefined, isLoading: false, onRetry: () => undefined }}
      environment={undefined}
      environmentHref={(id) => `/orgs/o1/environments/${id}`}
      releaseHref={(id) => `/orgs/o1/releases/${id}`}
      deploymentHref={(id) => `/orgs/o1/deployments/${id}`}
      actorName={() => "ada"}
      canCancel
      onCancel={() => clicked.push("cancel")}
      next={{
        rollbackVersion: 1,
        rollbackDisabled: null,
        redeployDisabled: null,
        onRollBack: () => clicked.push("rollback"),
        onRedeploy: () => clicked.push("redeploy"),
        onOpenLogs: () => clicked.push("logs"),
        ...next,
      }}
      approval={{
        role: "APP_ADMIN",
        disabled: null,
        busy: false,
        error: null,
        onDecide: (decision, comment) => clicked.push(`${decision}:${comment}`),
        ...approval,
      }}
      console={<ol />}
    />,
  );
  return clicked;
}

describe("DeploymentView", () => {
  it("lists the exact images of a succeeded deployment, and says when they were not recorded", () => {
    const id = `sha256:${"a".repeat(64)}`;
    const digest = `reg.local/shop/api@sha256:${"b".repeat(64)}`;
    show({
      ...failed,
      status: "SUCCEEDED",
      errorMessage: null,
      images: [
        { service: "api", image: "reg.local/shop/api:1", pinned: digest, kind: "digest" },
        { service: "web", image: "shop/web:latest", pinned: id, kind: "image-id" },
      ],
    });
    const section = screen.getByRole("region", { name: "Deployed images" });
    const rows = within(section)
      .getAllByRole("row")
      .slice(1)
      .map((r) => r.textContent);
    expect(rows).to.deep.equal([
      `apireg.local/shop/api:1${digest} (registry digest)`,
      `webshop/web:latest${id} (local image ID)`,
    ]);
  });

  it("says the images are unknown for an old agent's success, and shows none for a failure", () => {
    show({ ...failed, status: "SUCCEEDED", errorMessage: null, images: null });
    expect(screen.getByRole("region", { name: "Deployed images" }).textContent).to.contain("Not recorded");
  });

  it("shows no images section for a deployment that did not succeed", () => {
    show(failed);
    expect(screen.queryByRole("region", { name: "Deployed images" })).to.equal(null);
  });

  const awaiting: Deployment = {
    ...failed,
    status: "AWAITING_APPROVAL",
    startedAt: null,
    finishedAt: null,
    durationMs: null,
    errorMessage: null,
    promotedFrom: "d-staging",
  };

  it("offers Approve and Reject with a comment on a deployment awaiting approval, and links a promotion's source", () => {
    const clicked = show(awaiting);
    const panel = screen.getByRole("region", { name: "Approval" });
    expect(panel.textContent).to.contain("APP_ADMIN");
    fireEvent.change(within(panel).getByLabelText("Approval comment"), { target: { value: "ship it" } });
    fireEvent.click(within(panel).getByRole("button", { name: "Approve" }));
    fireEvent.click(within(panel).getByRole("button", { name: "Reject" }));
    expect(clicked).to.deep.equal(["approve:ship it", "reject:ship it"]);
    const source = screen.getByRole("link", { name: "this deployment" }) as HTMLAnchorElement;
    expect(source.getAttribute("href")).to.equal("/orgs/o1/deployments/d-staging");
  });

  it("says why the requester cannot approve, and shows a decision once made", () => {
    show(awaiting, {}, { disabled: "You requested this deployment: another user must approve it" });
    const approve = screen.getByRole("button", { name: "Approve" }) as HTMLButtonElement;
    expect(approve.disabled).to.equal(true);
    expect(screen.getByText("You requested this deployment: another user must approve it")).to.not.equal(null);
  });

  it("shows a rejection as the outcome, with who rejected it and why", () => {
    show({
      ...failed,
      status: "REJECTED",
      errorMessage: "rejected by bob@example.test: freeze",
      approval: { decision: "rejected", by: "bob@example.test", at: failed.finishedAt, comment: "freeze" },
    });
    expect(screen.getByRole("status", { name: "Outcome" }).textContent).to.contain("Rejected");
    expect(screen.getByRole("note", { name: "Approval" }).textContent).to.contain("bob@example.test");
  });

  it("leads a failure with its root cause and offers Roll back, Redeploy and Open logs", () => {
    const clicked = show(failed);
    const outcome = screen.getByRole("status", { name: "Outcome" });
    expect(outcome.textContent).to.contain("No such image: local/doesnotexist:9");
    const steps = within(outcome).getByRole("group", { name: "Next steps" });
    fireEvent.click(within(steps).getByRole("button", { name: "Roll back to v1" }));
    fireEvent.click(within(steps).getByRole("button", { name: "Redeploy" }));
    fireEvent.click(within(steps).getByRole("button", { name: "Open logs" }));
    expect(clicked).to.deep.equal(["rollback", "redeploy", "logs"]);
  });

  it("says why Roll back cannot be done", () => {
    show(failed, {
      rollbackVersion: null,
      rollbackDisabled: "The environment has no successful deployment to roll back to",
    });
    const button = screen.getByRole("button", { name: "Roll back" }) as HTMLButtonElement;
    expect(button.disabled).to.equal(true);
    expect(button.title).to.equal("The environment has no successful deployment to roll back to");
    expect(screen.getByText("The environment has no successful deployment to roll back to")).to.not.equal(null);
  });

  it("links a failure to its automatic rollback, and the rollback back to the failure", () => {
    show({ ...failed, rolledBackBy: "d-rollback" });
    const link = screen.getByRole("link", { name: "see the rollback deployment" }) as HTMLAnchorElement;
    expect(link.getAttribute("href")).to.equal("/orgs/o1/deployments/d-rollback");
  });

  it("marks an automatic rollback as such, with no next steps while it succeeded", () => {
    show({
      ...failed,
      id: "d-rollback",
      kind: "rollback",
      status: "SUCCEEDED",
      errorMessage: null,
      rollbackOf: "d-failed",
    });
    const note = screen.getByRole("note");
    expect(note.textContent).to.contain("An automatic rollback");
    expect(within(note).getByRole("link", { name: "a failed deployment" }).getAttribute("href")).to.equal(
      "/orgs/o1/deployments/d-failed",
    );
    expect(screen.queryByRole("group", { name: "Next steps" })).to.equal(null);
    expect(screen.getByText("Stackyard (the environment's failure policy)")).to.not.equal(null);
  });
});
