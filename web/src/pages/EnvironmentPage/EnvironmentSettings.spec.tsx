import { fireEvent, screen } from "@testing-library/react";
import { expect } from "chai";
import type { Cluster, EnvironmentDetail } from "../../api/types.js";
import type { EnvironmentChanges } from "../../api/hooks/stacks.js";
import { renderInRouter } from "../../../test/render.js";
import { EnvironmentSettingsDialog } from "./EnvironmentSettings.js";

const env = {
  id: "e1",
  stackId: "s1",
  name: "staging",
  clusterId: "c1",
  swarmStack: "shop-staging",
  deployTimeoutSeconds: 600,
  replicaOverrides: {},
  onFailure: "rollback",
  imageResolution: "always",
  sync: { mode: "manual", sourceId: null, pinned: null },
  pipelinePosition: null,
  approval: { required: false, role: "APP_ADMIN" },
  createdAt: "2026-01-01T10:00:00.000Z",
  stack: { id: "s1", name: "shop" },
  cluster: { id: "c1", name: "eu-1" },
} as unknown as EnvironmentDetail;
const clusters = [
  { id: "c1", name: "eu-1" },
  { id: "c2", name: "us-1" },
] as unknown as Cluster[];

function open(list: Cluster[] | null) {
  const sent: EnvironmentChanges[] = [];
  renderInRouter(
    <EnvironmentSettingsDialog
      env={env}
      clusters={list}
      busy={false}
      error={undefined}
      onSubmit={(input) => sent.push(input)}
      onClose={() => undefined}
    />,
  );
  return sent;
}

describe("EnvironmentSettingsDialog", () => {
  it("sends only what changed: the image resolution and the cluster to move to", () => {
    const sent = open(clusters);
    const resolution = screen.getByRole("combobox", { name: /Image resolution/ }) as HTMLSelectElement;
    expect(resolution.value).to.equal("always");
    fireEvent.change(resolution, { target: { value: "never" } });
    expect(document.body.textContent).to.contain("images built or loaded on the cluster's nodes");
    fireEvent.change(screen.getByRole("combobox", { name: /Cluster/ }), { target: { value: "c2" } });
    fireEvent.click(screen.getByRole("button", { name: "Save" }));
    expect(sent).to.deep.equal([{ imageResolution: "never", clusterId: "c2" }]);
  });

  it("keeps the cluster fixed while the clusters are loading, and sends nothing unchanged", () => {
    const sent = open(null);
    const cluster = screen.getByRole("combobox", { name: /Cluster/ }) as HTMLSelectElement;
    expect(cluster.disabled).to.equal(true);
    expect(cluster.value).to.equal("c1");
    fireEvent.click(screen.getByRole("button", { name: "Save" }));
    expect(sent).to.deep.equal([{}]);
  });
});

const prod = {
  id: "e1",
  stackId: "s1",
  name: "prod",
  clusterId: "c1",
  swarmStack: "shop-prod",
  deployTimeoutSeconds: 600,
  replicaOverrides: {},
  onFailure: "rollback",
  imageResolution: "never",
  sync: { mode: "manual", sourceId: null, pinned: null },
  pipelinePosition: null,
  approval: { required: false, role: "APP_ADMIN" },
  createdAt: "2026-01-01T10:00:00.000Z",
  stack: { id: "s1", name: "shop" },
  cluster: { id: "c1", name: "eu-1" },
  currentRelease: null,
  currentDeploymentId: null,
} as unknown as EnvironmentDetail;

describe("EnvironmentSettingsDialog: pipeline and approval", () => {
  it("sends only the pipeline position and the approval policy when those are what changed", () => {
    const sent: EnvironmentChanges[] = [];
    renderInRouter(
      <EnvironmentSettingsDialog
        env={prod}
        clusters={clusters}
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
