/**
 * Pull-request events in a verified webhook body (GitHub `pull_request`, GitLab `Merge Request Hook`, Gitea
 * `pull_request`), reduced to what previews act on: open, a new head (sync), or close. Only called after the
 * signature checked out (webhook-verify.ts); anything else (a push, an edit, a label) is null. Pure: no I/O.
 */
import { BadRequestError } from "../../_shared/errors.js";
import type { WebhookHeaders, WebhookProvider } from "./webhook-verify.js";

export type PullRequestAction = "open" | "sync" | "close";

export interface PullRequestEvent {
  action: PullRequestAction;
  number: number;
  /** The head commit the forge reports (40 or 64 hex digits). */
  headCommit: string;
  branch: string;
  title: string;
  merged: boolean;
}

const COMMIT = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const TITLE_MAX = 200;

const GITHUB_ACTIONS: Record<string, PullRequestAction> = {
  opened: "open",
  reopened: "open",
  synchronize: "sync",
  closed: "close",
};
const GITEA_ACTIONS: Record<string, PullRequestAction> = {
  opened: "open",
  reopened: "open",
  synchronized: "sync",
  closed: "close",
};
const GITLAB_ACTIONS: Record<string, PullRequestAction> = {
  open: "open",
  reopen: "open",
  update: "sync",
  close: "close",
  merge: "close",
};

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Json) : {});
const str = (v: unknown): string => (typeof v === "string" ? v : "");

export class PullRequestPayloadError extends BadRequestError {
  constructor(message: string) {
    super("WEBHOOK_PAYLOAD_INVALID", message);
    this.name = "PullRequestPayloadError";
  }
}

/** The pull-request event of a delivery, or null when it is no pull-request event previews act on. */
export function parsePullRequestEvent(
  provider: WebhookProvider,
  headers: WebhookHeaders,
  body: Buffer,
): PullRequestEvent | null {
  let pick: (doc: Json) => Omit<PullRequestEvent, "action">;
  const event = (name: string) => (headers[name] ?? "").toLowerCase();
  if (provider === "github" && event("x-github-event") === "pull_request") {
    pick = (doc) => {
      const pr = obj(doc.pull_request);
      const head = obj(pr.head);
      return {
        number: Number(doc.number ?? pr.number),
        headCommit: str(head.sha),
        branch: str(head.ref),
        title: str(pr.title),
        merged: pr.merged === true,
      };
    };
    return finish(body, pick, (doc) => GITHUB_ACTIONS[str(doc.action)]);
  }
  if (provider === "gitea" && event("x-gitea-event") === "pull_request") {
    pick = (doc) => {
      const pr = obj(doc.pull_request);
      const head = obj(pr.head);
      return {
        number: Number(doc.number ?? pr.number),
        headCommit: str(head.sha),
        branch: str(head.ref),
        title: str(pr.title),
        merged: pr.merged === true,
      };
    };
    return finish(body, pick, (doc) => GITEA_ACTIONS[str(doc.action)]);
  }
  if (provider === "gitlab" && event("x-gitlab-event") === "merge request hook") {
    pick = (doc) => {
      const attrs = obj(doc.object_attributes);
      return {
        number: Number(attrs.iid),
        headCommit: str(obj(attrs.last_commit).id),
        branch: str(attrs.source_branch),
        title: str(attrs.title),
        merged: str(attrs.action) === "merge",
      };
    };
    return finish(body, pick, (doc) => GITLAB_ACTIONS[str(obj(doc.object_attributes).action)]);
  }
  return null;
}

function finish(
  body: Buffer,
  pick: (doc: Json) => Omit<PullRequestEvent, "action">,
  actionOf: (doc: Json) => PullRequestAction | undefined,
): PullRequestEvent | null {
  let doc: Json;
  try {
    doc = obj(JSON.parse(body.toString("utf8")));
  } catch {
    throw new PullRequestPayloadError("the pull-request webhook body is not JSON");
  }
  const action = actionOf(doc);
  if (action === undefined) return null; // edited, labeled, assigned…: nothing to deploy or destroy
  const fields = pick(doc);
  if (!Number.isSafeInteger(fields.number) || fields.number <= 0) {
    throw new PullRequestPayloadError("the pull-request webhook body has no pull-request number");
  }
  const headCommit = fields.headCommit.toLowerCase();
  if (!COMMIT.test(headCommit)) {
    throw new PullRequestPayloadError("the pull-request webhook body has no head commit sha");
  }
  if (fields.branch.length === 0 || fields.branch.length > 255 || /[\p{Cc}]/u.test(fields.branch)) {
    throw new PullRequestPayloadError("the pull-request webhook body has no valid head branch");
  }
  return { ...fields, action, headCommit, title: fields.title.replace(/\p{Cc}/gu, " ").slice(0, TITLE_MAX) };
}
