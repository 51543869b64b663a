/**
 * Minting user credentials inside the application account, signed by its signing key.
 * Used for agents (one user per cluster, limited to that cluster's subjects) and in tests.
 */
import { createUser, encodeUser, fmtCreds, fromPublic, type ConnectionType, type KeyPair } from "nats-jwt";
import { nativeSigner } from "./fast-signer.js";

export interface SubjectPermissions {
  publish: string[];
  subscribe: string[];
  /** Denied even if allowed above; `[">"]` with an empty allow list is how a user publishes nothing. */
  denyPublish?: string[];
  denySubscribe?: string[];
}

/** Per-user limits a user JWT can carry (nats-server treats only -1 as unlimited; an omitted one defaults to -1). */
export interface UserLimits {
  /** Subscriptions at once; the server refuses one more (enforced). */
  subs: number;
  /** Largest message the user may publish, in bytes; the server advertises it to the client as max_payload. */
  payload: number;
  /** Bytes; written for completeness: nats-server 2.9/2.10 does not enforce a user-level data limit. */
  data: number;
}

export interface MintUserOptions {
  name: string;
  /** The user's public NKey (U...). The seed stays with whoever generated it. */
  userPublicKey: string;
  appAccountPublicKey: string;
  appSigningSeed: string;
  permissions: SubjectPermissions;
  /** Seconds since epoch; omitted means no expiry. */
  expiresAt?: number;
  allowedConnectionTypes?: ConnectionType[];
  /** Allow replies to requests this user receives (request/reply services). */
  allowResponses?: boolean;
  limits?: UserLimits;
}

export async function mintUserJwt(opts: MintUserOptions): Promise<string> {
  const signer = nativeSigner(opts.appSigningSeed);
  const account = fromPublic(opts.appAccountPublicKey);
  const user = fromPublic(opts.userPublicKey);
  return encodeUser(
    opts.name,
    user,
    account,
    {
      bearer_token: false,
      pub: { allow: opts.permissions.publish, deny: opts.permissions.denyPublish ?? [] },
      sub: { allow: opts.permissions.subscribe, deny: opts.permissions.denySubscribe ?? [] },
      ...(opts.allowResponses ? { resp: { max: 1, ttl: 0 } } : {}),
      ...(opts.allowedConnectionTypes ? { allowed_connection_types: opts.allowedConnectionTypes } : {}),
      ...(opts.limits ? { subs: opts.limits.subs, payload: opts.limits.payload, data: opts.limits.data } : {}),
    },
    { signer, ...(opts.expiresAt !== undefined ? { exp: opts.expiresAt } : {}) },
  );
}

/** Convenience for tests and tools that hold the user's key pair themselves. */
export async function mintUserCreds(
  opts: Omit<MintUserOptions, "userPublicKey">,
): Promise<{ creds: string; user: KeyPair }> {
  const user = createUser();
  const jwt = await mintUserJwt({ ...opts, userPublicKey: user.getPublicKey() });
  return { creds: new TextDecoder().decode(fmtCreds(jwt, user)), user };
}
