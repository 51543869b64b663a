/**
 * Short-lived access JWTs. Verification pins the algorithm, checks iss/aud/exp/nbf and the key id, and only
 * then reads claims; the session behind the token is checked separately (it may have been revoked).
 */
import { randomUUID } from "node:crypto";
import jwt from "jsonwebtoken";
import type { JwtKey } from "../_shared/config.js";
import { UnauthorizedError } from "../_shared/errors.js";

export const ACCESS_TOKEN_ALGORITHM = "HS256";

export interface AccessTokenSettings {
  keys: JwtKey[];
  issuer: string;
  audience: string;
  ttlSeconds: number;
}

export interface AccessClaims {
  /** user id */
  sub: string;
  org: string;
  /** session family id */
  sid: string;
}

export function signAccessToken(
  settings: AccessTokenSettings,
  claims: AccessClaims,
): { token: string; expiresAt: Date } {
  const key = settings.keys[0];
  if (!key) throw new Error("no signing key configured");
  const nowSeconds = Math.floor(Date.now() / 1000);
  const token = jwt.sign({ org: claims.org, sid: claims.sid }, key.secret, {
    algorithm: ACCESS_TOKEN_ALGORITHM,
    keyid: key.kid,
    subject: claims.sub,
    issuer: settings.issuer,
    audience: settings.audience,
    expiresIn: settings.ttlSeconds,
    notBefore: 0,
    jwtid: randomUUID(),
  });
  return { token, expiresAt: new Date((nowSeconds + settings.ttlSeconds) * 1000) };
}

export function verifyAccessToken(settings: AccessTokenSettings, token: string): AccessClaims {
  const decoded = jwt.decode(token, { complete: true });
  const kid = decoded && typeof decoded === "object" ? decoded.header.kid : undefined;
  const key = settings.keys.find((k) => k.kid === kid);
  if (!key) throw new UnauthorizedError("INVALID_TOKEN", "access token is invalid");
  let payload: jwt.JwtPayload | string;
  try {
    payload = jwt.verify(token, key.secret, {
      algorithms: [ACCESS_TOKEN_ALGORITHM],
      issuer: settings.issuer,
      audience: settings.audience,
    });
  } catch (err) {
    if (err instanceof jwt.TokenExpiredError) {
      throw new UnauthorizedError("TOKEN_EXPIRED", "access token expired; refresh it");
    }
    throw new UnauthorizedError("INVALID_TOKEN", "access token is invalid");
  }
  if (
    typeof payload === "string" ||
    typeof payload.sub !== "string" ||
    typeof payload.org !== "string" ||
    typeof payload.sid !== "string"
  ) {
    throw new UnauthorizedError("INVALID_TOKEN", "access token is invalid");
  }
  return { sub: payload.sub, org: payload.org, sid: payload.sid };
}
