/**
 * Which agents' leaf nodes hold a working link to the NATS hub right now, as the hub itself reports it through the
 * system account. `$SYS.REQ.ACCOUNT.<account>.CONNZ` (nats-server 2.9 and 2.10) lists the account's client *and*
 * leafnode connections on every server of the hub, each with the user key it authenticated with (`auth: true`;
 * a leaf authenticates with its agent's own credentials, so that key is the cluster's `agent_id`), its kind
 * (`Leafnode`) and when it last carried a message in (`last_activity`, on the server's own clock, beside the
 * answer's `now`). The user filter of CONNZ matches only user/password users, so the listing is read whole, page by
 * page, and matched here.
 *
 * A connection that is there is not enough: after a silent cut (no TCP reset) the hub holds it until its pings
 * time out, minutes later. A working link carries traffic: the hub sources every leaf's events stream, and the
 * leaf's source consumer sends an idle heartbeat across the link every second (nats-server
 * `sourceHealthCheckInterval`). A leaf connection idle longer than LEAF_LINK_IDLE_LIMIT_MS is therefore not working.
 */
import { RequestStrategy, type NatsConnection } from "nats";

/** A leaf link that carried nothing in for longer than this is not working (its source heartbeat is every second). */
export const LEAF_LINK_IDLE_LIMIT_MS = 15_000;
/** Connections per CONNZ page (the server's own default). */
export const CONNZ_PAGE_SIZE = 1_024;
/** How long to wait for the hub's servers to answer, and how long after the last answer to stop waiting for more. */
const ANSWER_WAIT_MS = 2_000;
const ANSWER_JITTER_MS = 300;

/** One server's CONNZ page, as the system account answers it (`ServerAPIResponse` with `Connz` data). */
export interface ConnzAnswer {
  server?: { id?: string; name?: string };
  data?: {
    now?: string;
    total?: number;
    offset?: number;
    limit?: number;
    connections?: Array<{ kind?: string; authorized_user?: string; last_activity?: string }>;
  };
  error?: { code?: number; description?: string };
}

export class LeafLinksUnknownError extends Error {
  override name = "LeafLinksUnknownError";
  readonly code = "LEAF_LINKS_UNKNOWN";
}

/** The user keys whose leaf connection carried traffic within the idle limit, over every server's answers. */
export function workingLeafLinks(answers: ConnzAnswer[], idleLimitMs = LEAF_LINK_IDLE_LIMIT_MS): Set<string> {
  const working = new Set<string>();
  for (const answer of answers) {
    const now = Date.parse(answer.data?.now ?? "");
    for (const c of answer.data?.connections ?? []) {
      if (c.kind !== "Leafnode" || !c.authorized_user) continue;
      const last = Date.parse(c.last_activity ?? "");
      // Both instants are the server's: no clock of ours is compared with the hub's.
      if (Number.isFinite(now) && Number.isFinite(last) && now - last <= idleLimitMs) working.add(c.authorized_user);
    }
  }
  return working;
}

/** Whether a server has more pages after this one. */
const hasMore = (a: ConnzAnswer): boolean =>
  (a.data?.offset ?? 0) + (a.data?.connections?.length ?? 0) < (a.data?.total ?? 0);

/**
 * Asks every server of the hub for the account's connections and returns the keys with a working leaf link.
 * Throws LeafLinksUnknownError when no server answers or one answers with an error: then nothing is known.
 */
export async function fetchWorkingLeafLinks(
  system: NatsConnection,
  account: string,
  idleLimitMs = LEAF_LINK_IDLE_LIMIT_MS,
): Promise<Set<string>> {
  const decoder = new TextDecoder();
  const answers: ConnzAnswer[] = [];
  for (let offset = 0; ; offset += CONNZ_PAGE_SIZE) {
    const body = JSON.stringify({ auth: true, offset, limit: CONNZ_PAGE_SIZE });
    const page: ConnzAnswer[] = [];
    try {
      const replies = await system.requestMany(`$SYS.REQ.ACCOUNT.${account}.CONNZ`, body, {
        strategy: RequestStrategy.JitterTimer,
        maxWait: ANSWER_WAIT_MS,
        jitter: ANSWER_JITTER_MS,
      });
      for await (const m of replies) page.push(JSON.parse(decoder.decode(m.data)) as ConnzAnswer);
    } catch (err) {
      throw new LeafLinksUnknownError(`the hub did not list its connections: ${String(err)}`, { cause: err });
    }
    const failed = page.find((a) => a.error);
    if (failed)
      throw new LeafLinksUnknownError(`the hub refused to list its connections: ${failed.error?.description}`);
    if (offset === 0 && page.length === 0) throw new LeafLinksUnknownError("no server of the hub answered CONNZ");
    answers.push(...page);
    if (!page.some(hasMore)) break;
  }
  return workingLeafLinks(answers, idleLimitMs);
}

/**
 * The same over several accounts: leaf nodes join their agent's account, the org's own (nats/org-accounts.ts) or,
 * for a credential issued before org accounts, the shared application account.
 */
export async function fetchWorkingLeafLinksIn(
  system: NatsConnection,
  accounts: readonly string[],
  idleLimitMs = LEAF_LINK_IDLE_LIMIT_MS,
): Promise<Set<string>> {
  const working = new Set<string>();
  const perAccount = await Promise.all(accounts.map((a) => fetchWorkingLeafLinks(system, a, idleLimitMs)));
  for (const keys of perAccount) for (const key of keys) working.add(key);
  return working;
}
