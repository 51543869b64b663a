import { expect } from "chai";
import { emailOf } from "./email.js";
import { holdSecondsOf } from "./sources.js";
import type { AlertRow, AlertRuleRow } from "./views.js";

const alert: AlertRow = {
  id: "a1",
  org_id: "o1",
  rule_id: "r1",
  rule_name: "replicas short",
  kind: "service_below_replicas",
  severity: "critical",
  subject: "e1/web",
  summary: "shop/prod: service web runs 0 of 2 replicas",
  details: {},
  status: "firing",
  since: new Date("2026-12-03T10:00:00Z"),
  fired_at: new Date("2026-12-03T10:00:05Z"),
  resolved_at: null,
  acknowledged_at: null,
  acknowledged_by_type: null,
  acknowledged_by: null,
  silenced_until: null,
  silenced_by: null,
};

describe("alerts", () => {
  it("writes the headline in the email subject and the facts in its body", () => {
    const firing = emailOf(alert, "firing");
    expect(firing.subject).to.equal("[Stackyard] FIRING critical: shop/prod: service web runs 0 of 2 replicas");
    expect(firing.text).to.contain("Rule:      replicas short (service_below_replicas)");
    expect(firing.text).to.not.contain("Resolved:");
    const resolved = emailOf(
      { ...alert, status: "resolved", resolved_at: new Date("2026-12-03T10:01:00Z") },
      "resolved",
    );
    expect(resolved.subject).to.equal("[Stackyard] RESOLVED: shop/prod: service web runs 0 of 2 replicas");
    expect(resolved.text).to.contain("Resolved:  2026-12-03T10:01:00.000Z");
  });

  it("holds a condition for the window, except the kinds that count within it", () => {
    const rule = { kind: "node_down", window_seconds: 30 } as AlertRuleRow;
    expect(holdSecondsOf(rule)).to.equal(30);
    expect(holdSecondsOf({ ...rule, kind: "task_restart_loop" })).to.equal(0);
    expect(holdSecondsOf({ ...rule, kind: "certificate_expiring" })).to.equal(0);
  });
});
