/** Reads (never verifies: the server does) the claims of a NATS user JWT the agent was given. */

export interface UserJwtClaims {
  /** The user's public NKey. */
  sub: string;
  /** Issued at, seconds since the epoch. */
  iat: number;
  /** Expiry, seconds since the epoch, when set. */
  exp: number | null;
}

export function decodeUserJwt(jwt: string): UserJwtClaims | null {
  const payload = jwt.split(".")[1];
  if (!payload) return null;
  try {
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Record<string, unknown>;
    if (typeof claims.sub !== "string" || typeof claims.iat !== "number") return null;
    return { sub: claims.sub, iat: claims.iat, exp: typeof claims.exp === "number" ? claims.exp : null };
  } catch {
    return null;
  }
}
