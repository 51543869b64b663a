import { render, screen } from "@testing-library/react";
import { expect } from "chai";
import type { ClusterStatus } from "../api/types.js";
import { CLUSTER_STATUS_MEANING, ClusterStatusBadge } from "./ClusterStatusBadge.js";

describe("ClusterStatusBadge", () => {
  const statuses: ClusterStatus[] = ["pending", "online", "degraded", "offline", "link_down", "revoked"];

  it("explains every status the API has in its tooltip", () => {
    for (const status of statuses) {
      const { unmount } = render(<ClusterStatusBadge status={status} />);
      expect(screen.getByTitle(CLUSTER_STATUS_MEANING[status]).textContent).to.equal(
        status === "link_down" ? "link down" : status,
      );
      unmount();
    }
  });

  it("tells link down apart from offline: another tone and a tooltip that says the site may be buffering", () => {
    render(
      <>
        <ClusterStatusBadge status="link_down" />
        <ClusterStatusBadge status="offline" />
      </>,
    );
    const linkDown = screen.getByText("link down");
    const offline = screen.getByText("offline");
    expect(linkDown.className).to.contain("badge-warn");
    expect(offline.className).to.contain("badge-bad");
    expect(linkDown.title).to.match(/may be running and buffering/);
    expect(offline.title).to.not.match(/buffering/);
  });
});
