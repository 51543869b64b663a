import type { ReactNode } from "react";
import { ErrorNotice } from "./ErrorNotice.js";

export interface AsyncState<T> {
  data: T | undefined;
  error: unknown;
  isLoading: boolean;
  onRetry: () => void;
}

/**
 * The four states every view has: loading, error (with retry), empty, and data. When a refetch fails while
 * older data is on screen, the data stays and the error is shown above it.
 */
export function AsyncContent<T>(props: {
  state: AsyncState<T>;
  isEmpty?: (data: T) => boolean;
  empty?: ReactNode;
  loadingLabel?: string;
  children: (data: T) => ReactNode;
}) {
  const { data, error, onRetry } = props.state;
  if (data === undefined) {
    return error ? <ErrorNotice error={error} onRetry={onRetry} /> : <Loading label={props.loadingLabel} />;
  }
  return (
    <>
      {error ? <ErrorNotice error={error} onRetry={onRetry} compact /> : null}
      {props.isEmpty?.(data) ? <div className="empty">{props.empty}</div> : props.children(data)}
    </>
  );
}

export function Loading(props: { label?: string | undefined }) {
  return (
    <div className="loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      {props.label ?? "Loading…"}
    </div>
  );
}
