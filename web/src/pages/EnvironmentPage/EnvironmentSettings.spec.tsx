import { fireEvent, screen } from "@testing-library/react";
import { expect } from "chai";
import type { EnvironmentChanges } from "../../api/hooks/stacks.js";
import type { EnvironmentDetail } from "../../api/types.js";
import { renderInRouter } from "../../../test/render.js";
import { EnvironmentSettingsDialog } from "./EnvironmentSettings.js";

const env: EnvironmentDetail = {
  id: "e1",
  stackId: "s1",
  name: "prod",
  clusterId: "c1",
  swarmStack: "shop-prod",
  deployTimeoutSeconds: 600,
  replicaOverrides: {},
  onFailure: "rollback",
  sync: { mode: "manual", sourceId: null, pinned: null },
  pipelinePosition: null,
  approval: { required: false, role: "APP_ADMIN" },
  createdAt: "2026-01-01T10:00:00.000Z",
  stack: { id: "s1", name: "shop" },
  cluster: { id: "c1", name: "eu-1" },
  currentRelease: null,
  currentDeploymentId: null,
};

describe("EnvironmentSettingsDialog: pipeline and approval", () => {
  it("sends only the pipeline position and the approval policy when those are what changed", () => {
    const sent: EnvironmentChanges[] = [];
    renderInRouter(
      <EnvironmentSettingsDialog
        env={env}
        busy={false}
        error={null}
        onSubmit={(c) => sent.push(c)}
        onClose={() => undefined}
      />,
    );
    fireEvent.change(screen.getByLabelText(/Position in the promotion pipeline/), { target: { value: "2" } });
    fireEvent.click(screen.getByLabelText(/wait for an approval/));
    fireEvent.change(screen.getByLabelText(/Approved by/), { target: { value: "ORG_ADMIN" } });
    fireEvent.click(screen.getByRole("button", { name: "Save" }));
    expect(sent).to.deep.equal([{ pipelinePosition: 2, approval: { required: true, role: "ORG_ADMIN" } }]);
  });
});
