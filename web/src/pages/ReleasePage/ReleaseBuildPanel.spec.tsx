import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { expect } from "chai";
import { ApiClient } from "../../api/client.js";
import { ApiProvider } from "../../api/hooks/context.js";
import { actions } from "../../api/keys.js";
import type { ReleaseBuild } from "../../api/types.js";
import { fakeFetch, memoryStore, sseEnd, sseEvent, sseResponse } from "../../../test/fake-fetch.js";
import { ReleaseBuildPanel } from "./ReleaseBuildPanel.js";

const B = "6f0c8a52-0000-4000-8000-00000000b001";

const build = (over: Partial<ReleaseBuild>): ReleaseBuild => ({
  id: B,
  releaseId: "6f0c8a52-0000-4000-8000-00000000a001",
  environmentId: "6f0c8a52-0000-4000-8000-00000000e001",
  status: "RUNNING",
  commit: "0123456789abcdef0123456789abcdef01234567",
  registry: "registry.example.com",
  images: null,
  errorMessage: null,
  errorCode: null,
  failedService: null,
  failedStep: null,
  createdBy: null,
  createdAt: "2026-12-03T19:00:00.000Z",
  startedAt: "2026-12-03T19:00:01.000Z",
  finishedAt: null,
  ...over,
});

function show(b: ReleaseBuild, wire: string, onCancel = () => undefined) {
  const { fetch, calls } = fakeFetch(() => sseResponse([wire]).response);
  const client = new ApiClient({ store: memoryStore(), fetch });
  render(
    <ApiProvider client={client}>
      <ReleaseBuildPanel
        buildId={B}
        eventsPath={actions.buildEvents(B)}
        state={{ data: b, error: undefined, isLoading: false, onRetry: () => undefined }}
        canceling={false}
        onCancel={onCancel}
        onEnd={() => undefined}
      />
    </ApiProvider>,
  );
  return calls;
}

describe("ReleaseBuildPanel", () => {
  it("streams the build's console from the build's own event stream and offers to cancel a running build", async () => {
    let canceled = 0;
    const wire =
      sseEvent({ seq: 0, message: "build of release v3 requested" }) +
      sseEvent({ seq: 1, message: "[app] Step 1/4 : FROM stackyard/busybox:test" });
    const calls = show(build({}), wire, () => void canceled++);
    await waitFor(() => expect(document.querySelectorAll(".console-line[data-seq]")).to.have.length(2));
    expect(calls[0]?.path).to.equal(`/v1/builds/${B}/events`);
    expect(screen.getByRole("region", { name: "Build" }).textContent)
      .to.contain("RUNNING")
      .and.contain("0123456789ab");
    fireEvent.click(screen.getByRole("button", { name: "Cancel build" }));
    expect(canceled).to.equal(1);
  });

  it("shows a failed build's service, step and message, and no cancel button", async () => {
    const wire =
      sseEvent({ seq: 0, message: "[app] Step 4/5 : RUN make" }) +
      sseEvent({
        seq: 1,
        level: "error",
        message: 'build failed: service app: step "RUN make" failed',
        data: { terminal: true },
      }) +
      sseEnd(B, "FAILED");
    show(
      build({
        status: "FAILED",
        failedService: "app",
        failedStep: "Step 4/5 : RUN make",
        errorMessage: 'service app: step "RUN make" failed: exit code 2',
      }),
      wire,
    );
    const alert = screen.getByRole("alert");
    expect(alert.textContent).to.contain("Build failed in service app").and.contain("Step 4/5 : RUN make");
    expect(screen.queryByRole("button", { name: "Cancel build" })).to.equal(null);
    await waitFor(() => expect(document.querySelectorAll(".console-line[data-seq]")).to.have.length(2));
  });

  it("lists the pushed images of a build that succeeded", () => {
    show(
      build({ status: "SUCCEEDED", images: { app: `registry.example.com/shop/app@sha256:${"a".repeat(64)}` } }),
      sseEnd(B, "SUCCEEDED"),
    );
    expect(screen.getByRole("list", { name: "Pushed images" }).textContent).to.contain(
      "registry.example.com/shop/app@sha256:",
    );
  });
});
