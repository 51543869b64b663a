import { render, screen, waitFor } from "@testing-library/react";
import { expect } from "chai";
import { ApiClient } from "../api/client.js";
import type { DeploymentEnd } from "../api/deployment-events.js";
import { ApiProvider } from "../api/hooks/context.js";
import { apiError, fakeFetch, memoryStore, sseEnd, sseEvent, sseResponse } from "../../test/fake-fetch.js";
import { DeploymentConsole, hookPhaseOf } from "./DeploymentConsole.js";

const D = "6f0c8a52-0000-4000-8000-000000000001";

function show(fetch: typeof globalThis.fetch, onEnd?: (end: DeploymentEnd) => void) {
  const client = new ApiClient({ store: memoryStore(), fetch });
  return render(
    <ApiProvider client={client}>
      <DeploymentConsole deploymentId={D} {...(onEnd ? { onEnd } : {})} />
    </ApiProvider>,
  );
}

const lines = () =>
  [...document.querySelectorAll<HTMLElement>(".console-line[data-seq]")].map((li) => ({
    seq: li.dataset.seq,
    tone: li.dataset.tone,
    text: li.querySelector(".console-msg")?.textContent,
  }));

describe("DeploymentConsole", () => {
  it("tags a release hook's output with its phase", async () => {
    const wire =
      sseEvent({ seq: 0, message: "migrating", data: { source: "hook", phase: "pre_deploy", stream: "stdout" } }) +
      sseEvent({ seq: 1, message: "Updating service shop_web", data: { stream: "stdout" } }) +
      sseEnd(D, "SUCCEEDED");
    show(fakeFetch(() => sseResponse([wire]).response).fetch);
    await waitFor(() => expect(lines()).to.have.length(2));
    const tags = [...document.querySelectorAll(".console-line")].map(
      (li) => li.querySelector(".console-tag")?.textContent,
    );
    expect(tags).to.deep.equal(["pre_deploy", undefined]);
    expect(hookPhaseOf({ seq: 2, ts: "", level: "info", message: "x", data: null } as never)).to.equal(null);
  });

  it("renders a stream of events in order, tones by level and stderr, and stops at the terminal event", async () => {
    const wire =
      ": stream open\n\n" +
      sseEvent({ seq: 0, level: "info", message: "queued: deploy of release v2 to environment staging" }) +
      sseEvent({ seq: 1, message: "Creating network shop_default", data: { stream: "stdout" } }) +
      sseEvent({ seq: 2, message: "image nginx:1.27 could not be accessed", data: { stream: "stderr" } }) +
      sseEvent({ seq: 3, level: "warn", message: "service web: 1/2 running" }) +
      sseEvent({ seq: 4, level: "info", message: "deployment succeeded", data: { terminal: true } }) +
      sseEnd(D, "SUCCEEDED") +
      // Nothing after `end` may show, however the server behaves.
      sseEvent({ seq: 5, level: "error", message: "after the end" });
    // Cut at awkward places: inside a field name, inside JSON, between the two newlines of a block end.
    const cuts = [7, 40, 41, 130, 200, wire.indexOf("\n\n", 300) + 1, wire.length - 30];
    const chunks = [...cuts, wire.length].map((end, i) => wire.slice(i === 0 ? 0 : cuts[i - 1], end));
    const stream = sseResponse(chunks);
    const { fetch, calls } = fakeFetch(() => stream.response);
    const ends: DeploymentEnd[] = [];
    show(fetch, (e) => ends.push(e));

    await screen.findByText("Finished:");
    expect(lines()).to.deep.equal([
      { seq: "0", tone: "info", text: "queued: deploy of release v2 to environment staging" },
      { seq: "1", tone: "info", text: "Creating network shop_default" },
      { seq: "2", tone: "stderr", text: "image nginx:1.27 could not be accessed" },
      { seq: "3", tone: "warn", text: "service web: 1/2 running" },
      { seq: "4", tone: "info", text: "deployment succeeded" },
    ]);
    expect(screen.getByRole("status").textContent).to.match(/Finished: SUCCEEDED · 5 events/);
    expect(ends).to.deep.equal([{ id: D, status: "SUCCEEDED" }]);
    await new Promise((r) => setTimeout(r, 30));
    expect(calls, "no reconnect after the end").to.have.length(1);
    expect(screen.queryByText("after the end")).to.equal(null);
  });

  it("shows events as they arrive while the deployment runs", async () => {
    const stream = sseResponse(
      [sseEvent({ seq: 0, message: "queued" }), sseEvent({ seq: 1, level: "error", message: "task failed" })],
      { holdOpen: true },
    );
    const { fetch } = fakeFetch(() => stream.response);
    const view = show(fetch);
    await screen.findByText("task failed");
    expect(lines().map((l) => l.tone)).to.deep.equal(["info", "error"]);
    expect(screen.getByRole("status").textContent).to.match(/^Live · 2 events/);
    view.unmount();
    await stream.cancelled; // leaving the page closes the connection
  });

  it("explains an error it cannot recover from (403 with the missing permission)", async () => {
    const { fetch } = fakeFetch(() => apiError(403, "PERMISSION_DENIED", { missingPermission: "deployments:read" }));
    show(fetch);
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).to.contain("deployments:read");
    await waitFor(() => expect(screen.getByRole("status").textContent).to.match(/could not be read/));
  });
});
