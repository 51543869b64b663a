import type { ComposePolicyViolation } from "../api/types.js";

/** Each violated compose-policy rule with where it is in the compose file, one per line. */
export function PolicyViolations(props: { violations: readonly ComposePolicyViolation[] }) {
  return (
    <ul className="violations">
      {props.violations.map((v, i) => (
        <li key={`${v.path}-${v.rule}-${i}`}>
          <code>{v.path}</code> <span className="badge">{v.rule}</span> {v.message}
        </li>
      ))}
    </ul>
  );
}

/** The violations in an API error's details (COMPOSE_POLICY_VIOLATION), or null. */
export function violationsOf(details: unknown): ComposePolicyViolation[] | null {
  if (!details || typeof details !== "object" || !("violations" in details)) return null;
  const list = (details as { violations: unknown }).violations;
  if (!Array.isArray(list)) return null;
  const ok = list.filter(
    (v): v is ComposePolicyViolation =>
      !!v &&
      typeof v === "object" &&
      typeof v.path === "string" &&
      typeof v.rule === "string" &&
      typeof v.message === "string",
  );
  return ok.length > 0 ? ok : null;
}
