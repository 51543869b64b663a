/**
 * One browser session's live link: a NATS user key pair made here (the seed never leaves this page), a live
 * credential for its public key from the API, renewed before it expires, and a nats.ws connection to the gateway's
 * `/v1/live` on this origin. Every message received is handed to `onEvent` by subject; the link reports its state
 * so the UI can say whether it is live or polling.
 */
import { connect, jwtAuthenticator, nkeys, type NatsConnection } from "nats.ws";
import type { ApiClient } from "../client.js";
import { isApiError } from "../client.js";

export type LiveState = "connecting" | "live" | "polling";

interface LiveCredential {
  jwt: string;
  expiresAt: string;
  subjects: string[];
  path: string;
}

export interface LiveLinkOptions {
  client: ApiClient;
  orgId: string;
  onEvent(subject: string): void;
  onState(state: LiveState, reason?: string): void;
  /** Where `path` is resolved; the page's own origin in the browser. */
  origin?: string;
}

/** Renew this long before the credential expires (it lives 5 minutes). */
const RENEW_AHEAD_MS = 60_000;
/** After a failed credential request that may pass later, the next try. */
const RETRY_MS = 15_000;

export class LiveLink {
  private readonly key = nkeys.createUser();
  private jwt = "";
  private nc: NatsConnection | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** Set by stop(): the page is gone, nothing may start again. */
  private disposed = false;

  constructor(private readonly options: LiveLinkOptions) {}

  async start(): Promise<void> {
    this.options.onState("connecting");
    try {
      const credential = await this.renew();
      const origin = this.options.origin ?? window.location.origin;
      const url = new URL(credential.path, origin);
      url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
      // The authenticator is asked again on every reconnect, so an expired JWT is replaced by the renewed one.
      const nc = await connect({
        servers: url.toString(),
        authenticator: jwtAuthenticator(() => this.jwt, this.key.getSeed()),
        maxReconnectAttempts: -1,
        reconnectTimeWait: 2_000,
      });
      if (this.disposed) {
        await nc.close();
        return;
      }
      this.nc = nc;
      for (const subject of credential.subjects) {
        const sub = nc.subscribe(subject);
        void (async () => {
          for await (const m of sub) this.options.onEvent(m.subject);
        })();
      }
      this.options.onState("live");
      void this.watch(nc);
    } catch (err) {
      this.fail(err);
    }
  }

  async stop(): Promise<void> {
    this.disposed = true;
    await this.disconnect();
  }

  private async disconnect(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const nc = this.nc;
    this.nc = null;
    await nc?.close().catch(() => undefined);
  }

  private async renew(): Promise<LiveCredential> {
    const credential = await this.options.client.post<LiveCredential>(
      `/v1/orgs/${encodeURIComponent(this.options.orgId)}/live-credentials`,
      { publicKey: this.key.getPublicKey() },
    );
    this.jwt = credential.jwt;
    const wait = Math.max(5_000, Date.parse(credential.expiresAt) - Date.now() - RENEW_AHEAD_MS);
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.renew().catch((err: unknown) => this.fail(err)), wait);
    return credential;
  }

  private async watch(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (this.disposed || nc !== this.nc) return;
      if (status.type === "disconnect") this.options.onState("polling", "live link lost: reconnecting");
      if (status.type === "reconnect") this.options.onState("live");
    }
  }

  private fail(err: unknown): void {
    if (this.disposed) return;
    const unavailable = isApiError(err) && err.status === 409;
    this.options.onState("polling", unavailable ? err.message : `live updates unavailable: ${String(err)}`);
    void this.disconnect().then(() => {
      // Not configured, or the session ended: polling it is. Anything else may pass: try again later.
      if (this.disposed || unavailable || (isApiError(err) && err.status === 401)) return;
      this.timer = setTimeout(() => void this.start(), RETRY_MS);
    });
  }
}
