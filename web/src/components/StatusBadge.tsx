const TONE: Record<string, string> = {
  online: "good",
  healthy: "good",
  ready: "good",
  active: "good",
  succeeded: "good",
  degraded: "warn",
  pending: "warn",
  pause: "warn",
  drain: "warn",
  running: "info",
  offline: "bad",
  "link down": "warn",
  down: "bad",
  disconnected: "bad",
  failed: "bad",
  awaiting_approval: "warn",
  rejected: "bad",
  revoked: "muted",
  expired: "muted",
  unknown: "muted",
  delivered: "good",
  enabled: "good",
  retrying: "warn",
  disabled: "muted",
  firing: "bad",
  resolved: "good",
  deploying: "info",
  building: "info",
  destroying: "warn",
  destroyed: "muted",
};

export function StatusBadge(props: { status: string; title?: string }) {
  // "healthy 2/2" takes the tone of its first word.
  const status = props.status.toLowerCase();
  const tone = TONE[status] ?? TONE[status.split(" ")[0] ?? ""] ?? "muted";
  return (
    <span className={`badge badge-${tone}`} title={props.title}>
      {props.status}
    </span>
  );
}
