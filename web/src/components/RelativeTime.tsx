import { useEffect, useState } from "react";

export function formatAge(ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000);
  const suffix = ms >= 0 ? "ago" : "from now";
  // Server and browser clocks differ a little; a moment "from now" is just now.
  if (s < 10) return "just now";
  if (s < 60) return `${s} s ${suffix}`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ${suffix}`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h} h ${suffix}`;
  return `${Math.round(h / 24)} days ${suffix}`;
}

export function formatDateTime(iso: string): string {
  return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

/** "3 min ago", kept current, with the exact time on hover. */
export function RelativeTime(props: { iso: string | null | undefined; never?: string }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 15_000);
    return () => clearInterval(timer);
  }, []);
  if (!props.iso) return <span className="muted">{props.never ?? "never"}</span>;
  return (
    <time dateTime={props.iso} title={formatDateTime(props.iso)}>
      {formatAge(now - Date.parse(props.iso))}
    </time>
  );
}

/** "850 ms", "12 s", "3 min 5 s", "1 h 2 min". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
  const h = Math.floor(m / 60);
  return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
}
