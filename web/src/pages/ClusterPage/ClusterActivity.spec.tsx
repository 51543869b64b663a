import { fireEvent, render, screen } from "@testing-library/react";
import { expect } from "chai";
import { ApiError } from "../../api/client.js";
import type { ClusterActivity, ClusterSecurityWarning } from "../../api/types.js";
import type { AsyncState } from "../../components/AsyncContent.js";
import { ActivityFeed } from "./ActivityFeed.js";
import { SecurityWarnings } from "./SecurityWarnings.js";

const now = new Date().toISOString();
const item = (id: string, over: Partial<ClusterActivity> = {}): ClusterActivity => ({
  id,
  clusterId: "c1",
  ts: now,
  receivedAt: now,
  type: "service",
  action: "update",
  objectId: `obj-${id}`,
  name: `shop-prod_web-${id}`,
  ...over,
});
const warning: ClusterSecurityWarning = {
  id: "w1",
  clusterId: "c1",
  code: "BAD_SIGNATURE",
  reason: "the command's signature does not verify",
  commandType: "DeployStack",
  commandId: null,
  subject: "cmd.c1.DeployStack",
  count: 3,
  firstSeenAt: now,
  lastSeenAt: now,
  acknowledgedAt: null,
  acknowledgedBy: null,
};

function feed(state: Partial<AsyncState<ClusterActivity[]>>, hasMore = false) {
  let more = 0;
  let retried = 0;
  render(
    <ActivityFeed
      state={{ data: undefined, error: undefined, isLoading: false, onRetry: () => retried++, ...state }}
      hasMore={hasMore}
      loadingMore={false}
      onLoadMore={() => more++}
    />,
  );
  return { more: () => more, retried: () => retried };
}

describe("ActivityFeed", () => {
  it("shows a loading state", () => {
    feed({ isLoading: true });
    expect(screen.getByRole("status").textContent).to.contain("Loading activity");
  });

  it("shows the error in full and retries", () => {
    const calls = feed({ error: new ApiError(500, "INTERNAL", "database unavailable") });
    expect(screen.getByRole("alert").textContent).to.contain("database unavailable");
    fireEvent.click(screen.getByRole("button", { name: "Retry" }));
    expect(calls.retried()).to.equal(1);
  });

  it("says when nothing was reported yet", () => {
    feed({ data: [] });
    expect(screen.getByText(/No Docker events reported yet/)).to.exist;
  });

  it("lists events with kind, action and object, and loads older pages on demand", () => {
    const calls = feed({ data: [item("2", { type: "task", action: "start" }), item("1", { name: null })] }, true);
    const rows = screen.getAllByTestId("activity-row");
    expect(rows).to.have.length(2);
    expect(rows[0]!.textContent).to.contain("task").and.contain("start").and.contain("shop-prod_web-2");
    expect(rows[1]!.textContent).to.contain("unnamed").and.contain("obj-1");
    fireEvent.click(screen.getByRole("button", { name: "Load older activity" }));
    expect(calls.more()).to.equal(1);
  });
});

describe("SecurityWarnings", () => {
  it("renders nothing without open warnings", () => {
    const { container } = render(
      <SecurityWarnings warnings={[]} canAcknowledge acknowledging={null} error={null} onAcknowledge={() => {}} />,
    );
    expect(container.innerHTML).to.equal("");
  });

  it("shows the code, what it means, the reason and the count, and acknowledges", () => {
    const acked: string[] = [];
    render(
      <SecurityWarnings
        warnings={[warning]}
        canAcknowledge
        acknowledging={null}
        error={null}
        onAcknowledge={(id) => acked.push(id)}
      />,
    );
    const alert = screen.getByRole("alert", { name: "Security warnings" });
    expect(alert.textContent).to.contain("BAD_SIGNATURE").and.contain("not signed by this control plane");
    expect(alert.textContent).to.contain("the command's signature does not verify").and.contain("3 times");
    fireEvent.click(screen.getByRole("button", { name: "Acknowledge" }));
    expect(acked).to.deep.equal(["w1"]);
  });

  it("disables acknowledging without clusters:write, saying why", () => {
    render(
      <SecurityWarnings
        warnings={[warning]}
        canAcknowledge={false}
        acknowledging={null}
        error={null}
        onAcknowledge={() => {}}
      />,
    );
    const button = screen.getByRole("button", { name: "Acknowledge" }) as HTMLButtonElement;
    expect(button.disabled).to.equal(true);
    expect(button.title).to.contain("clusters:write");
  });
});
