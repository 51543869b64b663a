import { fireEvent, screen } from "@testing-library/react";
import { expect } from "chai";
import { ApiError } from "../../api/client.js";
import type { Cluster } from "../../api/types.js";
import type { AsyncState } from "../../components/AsyncContent.js";
import { renderInRouter } from "../../../test/render.js";
import { ClustersView } from "./ClustersView.js";

const cluster: Cluster = {
  id: "c1",
  orgId: "o1",
  name: "prod-eu-1",
  status: "online",
  agentPublicKey: "UABC",
  lastSeenAt: new Date(Date.now() - 5 * 60_000).toISOString(),
  facts: { nodeCount: 3, agentVersion: "0.1.0", dockerVersion: "26.1.5" },
  inventoryAt: null,
  openSecurityWarnings: 0,
  unhealthyNodes: [],
  createdAt: new Date().toISOString(),
};

function show(state: Partial<AsyncState<Cluster[]>>, canCreate = true) {
  let retried = 0;
  let created = 0;
  renderInRouter(
    <ClustersView
      state={{ data: undefined, error: undefined, isLoading: false, onRetry: () => retried++, ...state }}
      clusterHref={(c) => `/orgs/o1/clusters/${c.id}`}
      canCreate={canCreate}
      onCreate={() => created++}
    />,
  );
  return { retried: () => retried, created: () => created };
}

describe("ClustersView", () => {
  it("shows a loading state", () => {
    show({ isLoading: true });
    expect(screen.getByRole("status").textContent).to.contain("Loading clusters");
  });

  it("explains a 403 with the missing permission and retries on demand", () => {
    const error = new ApiError(403, "PERMISSION_DENIED", "forbidden", { missingPermission: "clusters:read" });
    const calls = show({ error });
    const alert = screen.getByRole("alert");
    expect(alert.textContent).to.contain("You do not have permission");
    expect(alert.textContent).to.contain("clusters:read");
    fireEvent.click(screen.getByRole("button", { name: "Retry" }));
    expect(calls.retried()).to.equal(1);
  });

  it("says how to start when there are no clusters", () => {
    show({ data: [] });
    expect(screen.getByText("No clusters yet.")).to.exist;
    expect(screen.queryByRole("table")).to.equal(null);
  });

  it("lists clusters with status, last seen, node count and a link", () => {
    show({ data: [cluster] });
    const link = screen.getByRole("link", { name: "prod-eu-1" });
    expect(link.getAttribute("href")).to.equal("/orgs/o1/clusters/c1");
    const row = link.closest("tr");
    expect(row?.textContent).to.contain("online");
    expect(row?.textContent).to.contain("5 min ago");
    expect(row?.textContent).to.contain("3");
    expect(row?.textContent).to.not.contain("security warning");
  });

  it("flags a cluster with open security warnings in the list", () => {
    show({ data: [{ ...cluster, openSecurityWarnings: 2 }] });
    const row = screen.getByRole("link", { name: "prod-eu-1" }).closest("tr");
    expect(row?.textContent).to.contain("2 security warnings");
  });

  it("shows a leaf cluster cut off from the hub as link down, not offline, and says what that means", () => {
    show({
      data: [
        { ...cluster, status: "link_down" },
        { ...cluster, id: "c2", name: "dead-1", status: "offline" },
      ],
    });
    const cut = screen.getByRole("link", { name: "prod-eu-1" }).closest("tr")!.querySelector(".badge")!;
    expect(cut.textContent).to.equal("link down");
    expect(cut.className).to.contain("badge-warn");
    expect(cut.getAttribute("title")).to.contain("may be running and buffering");
    expect(cut.getAttribute("title")).to.contain("arrive, in order, when the link returns");
    const dead = screen.getByRole("link", { name: "dead-1" }).closest("tr")!.querySelector(".badge")!;
    expect(dead.textContent).to.equal("offline");
    expect(dead.className).to.contain("badge-bad");
    expect(dead.getAttribute("title")).to.not.contain("buffering");
  });

  it("keeps showing the list when a refetch fails, with the error above it", () => {
    show({ data: [cluster], error: new ApiError(0, "NETWORK_ERROR", "Cannot reach the Stackyard API") });
    expect(screen.getByRole("alert").textContent).to.contain("cannot be reached");
    expect(screen.getByRole("link", { name: "prod-eu-1" })).to.exist;
  });

  it("disables Add cluster without clusters:write and says why", () => {
    const calls = show({ data: [] }, false);
    const button = screen.getByRole("button", { name: "Add cluster" });
    expect(button.hasAttribute("disabled")).to.equal(true);
    expect(button.getAttribute("title")).to.contain("clusters:write");
    fireEvent.click(button);
    expect(calls.created()).to.equal(0);
  });
});
