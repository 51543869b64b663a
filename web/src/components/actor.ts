import type { Me, User } from "../api/types.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Who did something, in words: the signed-in user is "you", other users by email when the caller may list users,
 * anyone else by type and the first block of the id (the full id goes in a title).
 */
export function actorName(
  actorId: string | null,
  actorType: string | null,
  me: Me | undefined,
  users: readonly User[],
): string {
  if (!actorId) return actorType ?? "system";
  if (me && actorId === me.user.id) return `you (${me.user.email})`;
  const user = users.find((u) => u.id === actorId);
  if (user) return user.email;
  return `${actorType ?? "actor"} ${UUID.test(actorId) ? actorId.slice(0, 8) : actorId}`;
}

/** A key for POSTs that must not run twice; crypto.randomUUID needs a secure context, getRandomValues does not. */
export function newIdempotencyKey(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
