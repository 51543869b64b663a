const TONE: Record<string, string> = {
  online: "good",
  ready: "good",
  active: "good",
  succeeded: "good",
  degraded: "warn",
  pending: "warn",
  pause: "warn",
  drain: "warn",
  running: "info",
  offline: "bad",
  down: "bad",
  disconnected: "bad",
  failed: "bad",
  revoked: "muted",
  expired: "muted",
  unknown: "muted",
};

export function StatusBadge(props: { status: string; title?: string }) {
  const tone = TONE[props.status.toLowerCase()] ?? "muted";
  return (
    <span className={`badge badge-${tone}`} title={props.title}>
      {props.status}
    </span>
  );
}
