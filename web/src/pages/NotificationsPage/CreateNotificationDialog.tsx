import { useState, type FormEvent } from "react";
import type { CreatedNotificationEndpoint, NotificationEndpointInput, NotificationEventType } from "../../api/types.js";
import { OneTimeSecret } from "../../components/CopyButton.js";
import { Dialog } from "../../components/Dialog.js";
import { ErrorNotice } from "../../components/ErrorNotice.js";

/** The event types an endpoint can ask for, as the API's enum lists them, with what each means. */
export const EVENT_CHOICES: Array<{ type: NotificationEventType; label: string }> = [
  { type: "deployment.started", label: "Deployment started" },
  { type: "deployment.succeeded", label: "Deployment succeeded" },
  { type: "deployment.failed", label: "Deployment failed" },
  { type: "deployment.canceled", label: "Deployment canceled" },
  { type: "cluster.offline", label: "Cluster offline" },
  { type: "cluster.link_down", label: "Cluster link down (leaf mode: the site cannot reach the hub)" },
  { type: "cluster.degraded", label: "Cluster degraded" },
  { type: "cluster.online", label: "Cluster online" },
  { type: "cluster.security_warning", label: "Cluster security warning" },
  { type: "release.created", label: "Release created" },
];

const DEFAULT_EVENTS: NotificationEventType[] = ["deployment.failed", "cluster.offline", "cluster.link_down"];

export function CreateNotificationDialog(props: {
  busy: boolean;
  error: unknown;
  created: CreatedNotificationEndpoint | undefined;
  onSubmit: (input: NotificationEndpointInput) => void;
  onClose: () => void;
}) {
  const [name, setName] = useState("");
  const [url, setUrl] = useState("");
  const [format, setFormat] = useState<"json" | "slack">("json");
  const [events, setEvents] = useState<NotificationEventType[]>(DEFAULT_EVENTS);

  if (props.created) {
    const { endpoint, signingSecret } = props.created;
    return (
      <Dialog title={`Endpoint ${endpoint.name} added`} onClose={props.onClose} dismissable={false}>
        <OneTimeSecret
          label="Signing secret"
          value={signingSecret}
          hint="Shown only this once. The receiver checks X-Stackyard-Signature: sha256=HMAC-SHA256(secret, X-Stackyard-Timestamp + '.' + body)."
        />
        <div className="actions">
          <button type="button" onClick={props.onClose}>
            Done
          </button>
        </div>
      </Dialog>
    );
  }
  const toggle = (type: NotificationEventType) =>
    setEvents((current) => (current.includes(type) ? current.filter((t) => t !== type) : [...current, type]));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    props.onSubmit({ name: name.trim(), url: url.trim(), format, eventTypes: events });
  };
  return (
    <Dialog title="Add notification endpoint" onClose={props.onClose}>
      <form onSubmit={submit}>
        <label>
          Name
          <input
            name="name"
            required
            maxLength={100}
            placeholder="ops-channel"
            value={name}
            onChange={(e) => setName(e.target.value)}
            autoFocus
          />
        </label>
        <label>
          URL
          <input
            name="url"
            type="url"
            required
            maxLength={2048}
            placeholder="https://hooks.example.com/stackyard"
            value={url}
            onChange={(e) => setUrl(e.target.value)}
          />
        </label>
        <label>
          Format
          <select name="format" value={format} onChange={(e) => setFormat(e.target.value as "json" | "slack")}>
            <option value="json">JSON (the event envelope)</option>
            <option value="slack">Slack-compatible text</option>
          </select>
        </label>
        <fieldset>
          <legend>Events</legend>
          {EVENT_CHOICES.map((c) => (
            <label key={c.type} className="checkbox">
              <input type="checkbox" checked={events.includes(c.type)} onChange={() => toggle(c.type)} /> {c.label}
            </label>
          ))}
        </fieldset>
        {props.error ? <ErrorNotice error={props.error} compact /> : null}
        <div className="actions">
          <button type="button" className="secondary" onClick={props.onClose}>
            Cancel
          </button>
          <button
            type="submit"
            disabled={props.busy || name.trim() === "" || url.trim() === "" || events.length === 0}
            title={events.length === 0 ? "Choose at least one event" : undefined}
          >
            {props.busy ? "Adding…" : "Add endpoint"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
