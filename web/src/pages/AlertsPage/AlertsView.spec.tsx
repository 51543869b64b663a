import { fireEvent, screen, within } from "@testing-library/react";
import { expect } from "chai";
import { ApiError } from "../../api/client.js";
import type { Alert, AlertRule } from "../../api/types.js";
import type { AsyncState } from "../../components/AsyncContent.js";
import { renderInRouter } from "../../../test/render.js";
import { AlertsView, alertState } from "./AlertsView.js";

const now = new Date().toISOString();
const firing: Alert = {
  id: "a1",
  ruleId: "r1",
  ruleName: "prod replicas",
  kind: "service_below_replicas",
  severity: "critical",
  subject: "e1/web",
  summary: "shop/prod: service web runs 0 of 2 replicas",
  details: {},
  status: "firing",
  since: now,
  firedAt: now,
  resolvedAt: null,
  acknowledgedAt: null,
  acknowledgedBy: null,
  silencedUntil: null,
};
const rule: AlertRule = {
  id: "r1",
  name: "prod replicas",
  kind: "task_restart_loop",
  severity: "warning",
  windowSeconds: 600,
  quietSeconds: 0,
  threshold: 5,
  clusterId: null,
  environmentId: null,
  endpointIds: ["e1"],
  emailRecipients: [],
  enabled: true,
  createdBy: null,
  createdAt: now,
  updatedAt: now,
};

const state = <T,>(s: Partial<AsyncState<T[]>>): AsyncState<T[]> => ({
  data: undefined,
  error: undefined,
  isLoading: false,
  onRetry: () => {},
  ...s,
});

function show(alerts: Partial<AsyncState<Alert[]>>, opts: { canAck?: boolean } = {}) {
  const calls = { acked: [] as string[], silenced: [] as string[] };
  renderInRouter(
    <AlertsView
      alerts={state(alerts)}
      rules={state({ data: [rule] })}
      canAck={opts.canAck ?? true}
      busy={false}
      onAcknowledge={(a) => calls.acked.push(a.id)}
      onSilence={(a) => calls.silenced.push(a.id)}
    />,
  );
  return calls;
}

describe("AlertsView", () => {
  it("lists alerts with their state, and acknowledges and silences a firing one", () => {
    const calls = show({ data: [firing] });
    const row = screen.getByRole("table", { name: "Alert history" });
    expect(within(row).getByText("shop/prod: service web runs 0 of 2 replicas")).to.exist;
    fireEvent.click(within(row).getByRole("button", { name: "Acknowledge" }));
    fireEvent.click(within(row).getByRole("button", { name: "Silence 1 h" }));
    expect(calls).to.deep.equal({ acked: ["a1"], silenced: ["a1"] });
    expect(within(screen.getByRole("table", { name: "Alert rules" })).getByText("5 deaths in 600s")).to.exist;
  });

  it("offers no buttons without alerts:ack", () => {
    show({ data: [firing] }, { canAck: false });
    expect(screen.queryByRole("button", { name: "Acknowledge" })).to.equal(null);
  });

  it("offers nothing for an acknowledged, resolved alert", () => {
    show({ data: [{ ...firing, status: "resolved", resolvedAt: now, acknowledgedAt: now }] });
    expect(within(screen.getByRole("table", { name: "Alert history" })).queryAllByRole("button")).to.have.length(0);
  });

  it("says the state in words", () => {
    const later = new Date(Date.now() + 60_000).toISOString();
    expect(alertState({ ...firing, acknowledgedAt: now, silencedUntil: later })).to.equal(
      "firing · acknowledged · silenced",
    );
    expect(alertState({ ...firing, status: "resolved", silencedUntil: now }, Date.now() + 1)).to.equal("resolved");
  });

  it("shows the empty history", () => {
    show({ data: [] });
    expect(screen.getByText("No alert has fired yet.")).to.exist;
  });

  it("shows an error of the history", () => {
    show({ error: new ApiError(503, "SERVICE_UNAVAILABLE", "the alerts service is down") });
    expect(screen.getByText(/the alerts service is down/)).to.exist;
  });
});
