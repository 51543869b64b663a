import { fireEvent, screen, within } from "@testing-library/react";
import { expect } from "chai";
import type { EnvironmentStatus, ServiceLogs } from "../../api/types.js";
import { renderInRouter } from "../../../test/render.js";
import { ServiceView, type LogQuery } from "./ServiceView.js";

const status = (source: "agent" | "inventory"): EnvironmentStatus => ({
  environmentId: "e1",
  stackName: "shop-prod",
  source,
  observedAt: new Date().toISOString(),
  ageSeconds: 0,
  agentError: source === "agent" ? null : "the agent did not answer",
  agent: {
    status: source === "agent" ? "online" : "offline",
    lastSeenAt: new Date().toISOString(),
    offlineSince: source === "agent" ? null : new Date().toISOString(),
  },
  sync:
    source === "agent"
      ? { state: "in_sync", reason: "in sync" }
      : { state: "unknown", reason: "unknown (agent offline)" },
  replicaOverrides: {},
  desiredRelease: { id: "r1", version: 1 },
  inSync: true,
  missingServices: [],
  extraServices: [],
  driftComparison: source === "agent" ? "full" : null,
  services: [
    {
      name: "web",
      swarmName: "shop-prod_web",
      image: "nginx:1.27",
      mode: "replicated",
      desiredReplicas: 2,
      runningReplicas: 1,
      replicaOverride: null,
      drift: [],
      driftFields: [],
      comparison: source === "agent" ? "full" : "partial",
      updateStatus: null,
      tasks:
        source === "agent"
          ? [
              {
                id: "task-running-000001",
                state: "running",
                desiredState: "running",
                message: "started",
                error: null,
                nodeId: "n1",
                timestamp: new Date().toISOString(),
              },
              {
                id: "task-failed-0000002",
                state: "rejected",
                desiredState: "shutdown",
                message: "preparing",
                error: "No such image: local/doesnotexist:9",
                nodeId: null,
                timestamp: new Date(Date.now() - 60_000).toISOString(),
              },
            ]
          : [],
    },
  ],
});
const logs: ServiceLogs = {
  service: "web",
  truncated: false,
  lines: [
    { stream: "stdout", ts: "2026-01-01T10:00:00.123456789Z", line: "GET / 200" },
    { stream: "stderr", ts: "2026-01-01T10:00:01.000000000Z", line: "upstream timed out" },
  ],
};
const node = {
  id: "x",
  nodeId: "n1",
  hostname: "manager-1",
  role: "manager",
  availability: "active",
  status: "ready",
  labels: {},
  resources: {},
  updatedAt: "",
} as const;

function show(source: "agent" | "inventory", onLogQuery: (q: LogQuery) => void = () => undefined, grep = "") {
  renderInRouter(
    <ServiceView
      title="shop / prod · web"
      service="web"
      backHref="/e"
      status={{ data: status(source), error: undefined, isLoading: false, onRetry: () => undefined }}
      nodes={[node]}
      logs={{ data: logs, error: undefined, isLoading: false, onRetry: () => undefined }}
      logQuery={{ tail: 200, sinceMinutes: 0, grep, refreshing: false }}
      onLogQuery={onLogQuery}
      onRefreshLogs={() => undefined}
      refreshingLogs={false}
    />,
  );
}

describe("ServiceView", () => {
  it("lists the tasks with node name, state, error and when, newest first", () => {
    show("agent");
    const rows = within(screen.getByRole("table", { name: "Tasks" }))
      .getAllByRole("row")
      .slice(1);
    expect(rows.map((r) => r.getAttribute("data-state"))).to.deep.equal(["running", "rejected"]);
    expect(rows[0]!.textContent).to.include("manager-1");
    expect(rows[1]!.textContent).to.include("not scheduled").and.to.include("No such image: local/doesnotexist:9");
    expect(rows[1]!.textContent).to.include("→ shutdown");
    expect(screen.getByTestId("replicas").textContent).to.include("1/2");
  });

  it("says tasks are unknown while the agent is offline, rather than none", () => {
    show("inventory");
    expect(screen.queryByRole("table", { name: "Tasks" })).to.equal(null);
    expect(screen.getByText("Unknown while the agent is offline.")).to.exist;
    expect(screen.getByRole("status").textContent).to.include("the agent did not answer");
  });

  it("filters log lines by what they contain and starts and stops the refresh", () => {
    const changes: LogQuery[] = [];
    show("agent", (q) => changes.push(q), "timed out");
    const lines = screen.getByRole("list", { name: "Log lines" });
    expect(
      within(lines)
        .getAllByRole("listitem")
        .map((li) => li.textContent),
    ).to.have.length(1);
    expect(lines.textContent).to.include("upstream timed out");
    fireEvent.click(screen.getByRole("button", { name: "Refresh every 3 s" }));
    expect(changes.at(-1)?.refreshing).to.equal(true);
  });
});
