import { fireEvent, screen, within } from "@testing-library/react";
import { expect } from "chai";
import { ApiError } from "../../api/client.js";
import type { NotificationDelivery, NotificationEndpoint } from "../../api/types.js";
import type { AsyncState } from "../../components/AsyncContent.js";
import { renderInRouter } from "../../../test/render.js";
import { CreateNotificationDialog } from "./CreateNotificationDialog.js";
import { NotificationsView, deliveryState, shortUrl } from "./NotificationsView.js";

const now = new Date().toISOString();
const slack: NotificationEndpoint = {
  id: "n1",
  name: "ops-channel",
  url: "https://hooks.slack.com/services/T000/B000/XXXXsecret",
  format: "slack",
  eventTypes: ["deployment.failed", "cluster.offline"],
  enabled: true,
  createdBy: null,
  createdAt: now,
  updatedAt: now,
};
const retrying: NotificationDelivery = {
  id: "d1",
  eventId: "e1",
  eventType: "deployment.failed",
  status: "pending",
  attempts: 2,
  nextAttemptAt: now,
  lastStatusCode: 500,
  lastError: "HTTP 500",
  createdAt: now,
  deliveredAt: null,
  log: [
    { attempt: 1, statusCode: 500, error: "HTTP 500", durationMs: 12, at: now },
    { attempt: 2, statusCode: null, error: "ECONNREFUSED: connect ECONNREFUSED", durationMs: 1, at: now },
  ],
};

function show(
  state: Partial<AsyncState<NotificationEndpoint[]>>,
  opts: { canWrite?: boolean; deliveries?: NotificationDelivery[] } = {},
) {
  const calls = {
    created: 0,
    toggled: [] as string[],
    tested: [] as string[],
    deleted: [] as string[],
    selected: [] as Array<string | null>,
  };
  renderInRouter(
    <NotificationsView
      state={{ data: undefined, error: undefined, isLoading: false, onRetry: () => {}, ...state }}
      canWrite={opts.canWrite ?? true}
      onCreate={() => calls.created++}
      onToggle={(e) => calls.toggled.push(e.name)}
      onTest={(e) => calls.tested.push(e.name)}
      onDelete={(e) => calls.deleted.push(e.name)}
      selected={
        opts.deliveries
          ? {
              endpoint: slack,
              deliveries: { data: opts.deliveries, error: undefined, isLoading: false, onRetry: () => {} },
            }
          : null
      }
      onSelect={(e) => calls.selected.push(e?.name ?? null)}
    />,
  );
  return calls;
}

describe("NotificationsView", () => {
  it("lists endpoints without the secret part of a Slack URL, with their events and actions", () => {
    const calls = show({ data: [slack] });
    const row = screen.getByText("ops-channel").closest("tr")!;
    expect(row.textContent).to.contain("https://hooks.slack.com/services/…");
    expect(row.textContent).to.not.contain("XXXXsecret");
    expect(row.textContent).to.contain("deployment.failed");
    expect(row.textContent).to.contain("Slack text");
    fireEvent.click(within(row).getByRole("button", { name: "Send test" }));
    fireEvent.click(within(row).getByRole("button", { name: "Disable" }));
    fireEvent.click(within(row).getByRole("button", { name: "Delete" }));
    fireEvent.click(within(row).getByRole("button", { name: "Deliveries" }));
    expect(calls).to.deep.include({ tested: ["ops-channel"], toggled: ["ops-channel"], deleted: ["ops-channel"] });
    expect(calls.selected).to.deep.equal(["ops-channel"]);
  });

  it("offers only the delivery log without notifications:write", () => {
    show({ data: [slack] }, { canWrite: false });
    expect(screen.queryByRole("button", { name: "Delete" })).to.equal(null);
    expect(screen.getByRole("button", { name: "Add endpoint" }).hasAttribute("disabled")).to.equal(true);
  });

  it("shows each delivery's state, every answer and the last error", () => {
    show({ data: [slack] }, { deliveries: [retrying] });
    const panel = screen.getByRole("region", { name: "Deliveries to ops-channel" });
    expect(panel.textContent).to.contain("retrying");
    expect(panel.textContent).to.contain("500, no answer");
    expect(panel.textContent).to.contain("HTTP 500");
    expect(deliveryState({ ...retrying, status: "failed", attempts: 8 })).to.equal("failed after 8 attempt(s)");
    expect(deliveryState({ ...retrying, status: "pending", attempts: 0 })).to.equal("pending");
    expect(shortUrl("https://example.com")).to.equal("https://example.com/");
  });
});

describe("CreateNotificationDialog", () => {
  it("sends the name, URL, format and events, and shows a refusal whole", () => {
    const submitted: unknown[] = [];
    renderInRouter(
      <CreateNotificationDialog
        busy={false}
        error={
          new ApiError(
            422,
            "NOTIFICATION_HOST_FORBIDDEN",
            'the endpoint host "10.0.0.1" resolves to 10.0.0.1 (private network)',
          )
        }
        created={undefined}
        onSubmit={(input) => submitted.push(input)}
        onClose={() => {}}
      />,
    );
    expect(screen.getByRole("alert").textContent).to.contain("resolves to 10.0.0.1 (private network)");
    fireEvent.change(screen.getByLabelText("Name"), { target: { value: " ops " } });
    fireEvent.change(screen.getByLabelText("URL"), { target: { value: "https://hooks.example.com/x" } });
    fireEvent.change(screen.getByLabelText("Format"), { target: { value: "slack" } });
    fireEvent.click(screen.getByLabelText("Release created"));
    fireEvent.click(screen.getByLabelText("Cluster offline"));
    fireEvent.click(screen.getByLabelText(/Cluster link down/));
    fireEvent.click(screen.getByRole("button", { name: "Add endpoint" }));
    expect(submitted).to.deep.equal([
      {
        name: "ops",
        url: "https://hooks.example.com/x",
        format: "slack",
        eventTypes: ["deployment.failed", "release.created"],
      },
    ]);
  });

  it("shows the signing secret once, with how to verify it", () => {
    renderInRouter(
      <CreateNotificationDialog
        busy={false}
        error={undefined}
        created={{ endpoint: slack, signingSecret: "whsec_abc" }}
        onSubmit={() => {}}
        onClose={() => {}}
      />,
    );
    expect(screen.getByTestId("secret-Signing secret").textContent).to.equal("whsec_abc");
    expect(screen.getByText(/X-Stackyard-Signature/)).to.exist;
  });
});
