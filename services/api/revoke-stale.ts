/**
 * The revocation recheck every long-lived stream of the gateway shares (deployment SSE, log follow, exec): each
 * stream asks whether the credential it was opened with still holds, and those that no longer do are ended.
 * A check that fails counts as revoked: a stream whose access cannot be confirmed does not stay open.
 */
export interface RevocableStream {
  stillValid(): Promise<boolean>;
  revoke(): void;
}

/** Ends every stream whose credential no longer holds; returns how many it ended. */
export async function revokeStale(streams: readonly RevocableStream[]): Promise<number> {
  const verdicts = await Promise.all(streams.map((s) => s.stillValid().catch(() => false)));
  let ended = 0;
  streams.forEach((stream, i) => {
    if (!verdicts[i]) {
      stream.revoke();
      ended += 1;
    }
  });
  return ended;
}
