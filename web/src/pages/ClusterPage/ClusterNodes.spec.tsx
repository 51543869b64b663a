import { fireEvent, screen, within } from "@testing-library/react";
import { expect } from "chai";
import type { Cluster, ClusterNode } from "../../api/types.js";
import { renderInRouter } from "../../../test/render.js";
import { ClusterView, parseLabels, type NodeActions } from "./ClusterView.js";

const now = new Date().toISOString();
const cluster = (over: Partial<Cluster> = {}): Cluster => ({
  id: "c1",
  orgId: "o1",
  name: "prod-eu-1",
  status: "online",
  agentPublicKey: "UABC",
  lastSeenAt: now,
  facts: {},
  inventoryAt: now,
  openSecurityWarnings: 0,
  unhealthyNodes: [],
  createdAt: now,
  ...over,
});
const node = (id: string, hostname: string, over: Partial<ClusterNode> = {}): ClusterNode => ({
  id,
  nodeId: `swarm-${id}`,
  hostname,
  role: "worker",
  availability: "active",
  status: "ready",
  labels: {},
  resources: { nanoCpus: 2e9, memoryBytes: 2 ** 31 },
  updatedAt: now,
  ...over,
});

function show(opts: { canWrite: boolean; cluster?: Cluster; nodes?: ClusterNode[]; busyNodeId?: string | null }) {
  const changes: Array<Parameters<NodeActions["onChange"]>[0]> = [];
  const state = <T,>(data: T) => ({ data, error: undefined, isLoading: false, onRetry: () => undefined });
  renderInRouter(
    <ClusterView
      cluster={state(opts.cluster ?? cluster())}
      nodes={state(
        opts.nodes ?? [node("n1", "manager-1", { role: "manager" }), node("n2", "worker-1", { labels: { zone: "a" } })],
      )}
      backHref="/clusters"
      canWrite={opts.canWrite}
      onNewToken={() => undefined}
      onRevoke={() => undefined}
      onDelete={() => undefined}
      nodeActions={{ busyNodeId: opts.busyNodeId ?? null, onChange: (c) => changes.push(c) }}
    />,
  );
  return changes;
}

describe("ClusterView nodes table", () => {
  it("lets a cluster admin drain a node and replace its labels", () => {
    const changes = show({ canWrite: true });
    fireEvent.change(screen.getByLabelText("Availability of worker-1"), { target: { value: "drain" } });
    expect(changes).to.deep.equal([{ nodeId: "n2", availability: "drain" }]);
    const row = screen.getByText("worker-1").closest("tr")!;
    fireEvent.click(within(row).getByRole("button", { name: "Edit labels" }));
    const input = screen.getByLabelText("Labels of worker-1") as HTMLInputElement;
    expect(input.value).to.equal("zone=a");
    fireEvent.change(input, { target: { value: "zone=b, disk=ssd" } });
    fireEvent.click(screen.getByRole("button", { name: "Save labels" }));
    expect(changes[1]).to.deep.equal({ nodeId: "n2", labels: { zone: "b", disk: "ssd" } });
  });

  it("refuses a label without a key and disables a node whose change is on its way", () => {
    show({ canWrite: true, busyNodeId: "n2" });
    expect((screen.getByLabelText("Availability of worker-1") as HTMLSelectElement).disabled).to.equal(true);
    expect((screen.getByLabelText("Availability of manager-1") as HTMLSelectElement).disabled).to.equal(false);
    expect(parseLabels("=x")).to.equal(null);
    expect(parseLabels(" a=1 ,b ")).to.deep.equal({ a: "1", b: "" });
  });

  it("shows availability read-only without clusters:write", () => {
    show({ canWrite: false });
    expect(screen.queryByLabelText("Availability of worker-1")).to.equal(null);
    expect(screen.queryByRole("button", { name: "Edit labels" })).to.equal(null);
  });

  it("names the nodes that make a cluster degraded", () => {
    show({ canWrite: false, cluster: cluster({ status: "degraded", unhealthyNodes: ["worker-1"] }) });
    expect(screen.getByText(/Degraded: node worker-1 is not ready in Swarm/)).to.exist;
  });
});
