/**
 * What an endpoint receives for an event: the integration envelope itself (`json`, schema EventEnvelope of
 * openapi/asyncapi.yaml, plus the names of what it is about), or a Slack-compatible incoming-webhook message
 * (`slack`: `{"text": …}`), which Slack, Mattermost and Rocket.Chat accept.
 */
import type { IntegrationEnvelope } from "../_shared/integration-events.js";

export type PayloadFormat = "json" | "slack";

/** Names looked up when the event was queued: events carry ids, a person reads names. */
export interface EventNames {
  stackName?: string;
  environmentName?: string;
  clusterName?: string;
}

export function payloadOf(format: PayloadFormat, event: IntegrationEnvelope, names: EventNames): string {
  return JSON.stringify(format === "slack" ? { text: slackText(event, names) } : { ...event, names });
}

const str = (v: unknown): string | undefined => (typeof v === "string" && v.length > 0 ? v : undefined);

/** One line a person reads in a channel; names and codes only (events never carry secret values). */
export function slackText(event: IntegrationEnvelope, names: EventNames): string {
  const d = event.data;
  if (event.type.startsWith("deployment.")) {
    const what = event.type.slice("deployment.".length);
    const target =
      names.stackName && names.environmentName
        ? `${names.stackName}/${names.environmentName}`
        : (str(d.environmentId) ?? "an environment");
    const release = typeof d.releaseVersion === "number" ? ` (release v${d.releaseVersion})` : "";
    const reason = what === "failed" || what === "rejected" ? str(d.errorMessage) : undefined;
    if (what === "approval_requested") return `Approval requested: deployment to ${target}${release}`;
    return `Deployment ${what}: ${target}${release}${reason ? ` — ${reason}` : ""}`;
  }
  if (event.type.startsWith("cluster.")) {
    const name = names.clusterName ?? str(d.clusterId) ?? "a cluster";
    if (event.type === "cluster.security_warning") {
      return `Security warning on cluster ${name}${str(d.message) ? `: ${str(d.message)}` : ""}`;
    }
    if (event.type === "cluster.link_down") {
      return `Cluster ${name}: link down (its site cannot reach the hub; it may be running and buffering)`;
    }
    return `Cluster ${name} is ${event.type.slice("cluster.".length)}`;
  }
  if (event.type === "alert.firing" || event.type === "alert.resolved") {
    const severity = str(d.severity)?.toUpperCase() ?? "ALERT";
    const head = event.type === "alert.firing" ? `[${severity}] Alert firing` : `Resolved`;
    return `${head}: ${str(d.summary) ?? "an alert"} (rule ${str(d.ruleName) ?? "?"})`;
  }
  if (event.type === "release.created") {
    return `Release v${String(d.version ?? "?")} created for stack ${names.stackName ?? str(d.stackId) ?? "?"}`;
  }
  return `Stackyard event ${event.type}`;
}
