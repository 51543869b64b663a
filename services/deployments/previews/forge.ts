/**
 * Posting a preview's state back to its forge: a commit status on the head commit (GitHub, GitLab, Gitea) and,
 * when a preview is up, a comment on the pull request with its URL. Each call goes to the address the SSRF guard
 * checked (no second DNS answer, no redirect), bounded in time; the token travels in the forge's auth header
 * only and never in a log line or an error. A failed call is reported to the caller, never retried in a loop.
 */
import http from "node:http";
import https from "node:https";
import { isIP, type LookupFunction } from "node:net";
import { checkEndpointUrl, type EndpointHostPolicy } from "../../notifications/host-check.js";
import type { ForgeKind } from "./settings.js";

export type CommitState = "pending" | "success" | "failure";

export interface ForgeTarget {
  kind: ForgeKind;
  /** e.g. https://api.github.com, https://gitlab.example.com/api/v4, https://gitea.example.com/api/v1 */
  apiUrl: string;
  /** owner/name (GitHub, Gitea) or the project id or url-encoded path (GitLab). */
  repo: string;
  token: string;
}

export interface ForgeCallResult {
  call: "status" | "comment";
  statusCode: number | null;
  error: string | null;
}

export interface ForgeSettings {
  policy: EndpointHostPolicy;
  timeoutMs: number;
}

/** The stable context name of the commit status. */
export const STATUS_CONTEXT = "stackyard/preview";

const segment = (v: string) => encodeURIComponent(v);
const repoPath = (t: ForgeTarget) =>
  t.kind === "gitlab" ? `/projects/${segment(t.repo)}` : `/repos/${t.repo.split("/").map(segment).join("/")}`;

function authHeaders(t: ForgeTarget): Record<string, string> {
  switch (t.kind) {
    case "github":
      return { authorization: `Bearer ${t.token}`, accept: "application/vnd.github+json" };
    case "gitlab":
      return { "private-token": t.token };
    case "gitea":
      return { authorization: `token ${t.token}` };
  }
}

export async function postCommitStatus(
  settings: ForgeSettings,
  target: ForgeTarget,
  commit: string,
  state: CommitState,
  description: string,
  url: string | null,
): Promise<ForgeCallResult> {
  const path = `${repoPath(target)}/statuses/${segment(commit)}`;
  const body =
    target.kind === "gitlab"
      ? {
          state: state === "failure" ? "failed" : state,
          name: STATUS_CONTEXT,
          description,
          ...(url ? { target_url: url } : {}),
        }
      : { state, context: STATUS_CONTEXT, description, ...(url ? { target_url: url } : {}) };
  return { call: "status", ...(await post(settings, target, path, body)) };
}

export async function postPullRequestComment(
  settings: ForgeSettings,
  target: ForgeTarget,
  prNumber: number,
  text: string,
): Promise<ForgeCallResult> {
  const path =
    target.kind === "gitlab"
      ? `${repoPath(target)}/merge_requests/${prNumber}/notes`
      : `${repoPath(target)}/issues/${prNumber}/comments`;
  return { call: "comment", ...(await post(settings, target, path, { body: text })) };
}

async function post(
  settings: ForgeSettings,
  target: ForgeTarget,
  path: string,
  payload: unknown,
): Promise<{ statusCode: number | null; error: string | null }> {
  let checked;
  try {
    checked = await checkEndpointUrl(`${target.apiUrl.replace(/\/+$/, "")}${path}`, settings.policy);
  } catch (err) {
    return { statusCode: null, error: (err as Error).message.slice(0, 300) };
  }
  const { url, address, port } = checked;
  const family = isIP(address) === 6 ? 6 : 4;
  const pinned: LookupFunction = (_host, options, callback) => {
    if (options.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  };
  const body = JSON.stringify(payload);
  const transport = url.protocol === "https:" ? https : http;
  return new Promise((resolve) => {
    let settled = false;
    const done = (statusCode: number | null, error: string | null) => {
      if (settled) return;
      settled = true;
      resolve({ statusCode, error });
    };
    const request = transport.request(
      {
        method: "POST",
        host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
        port,
        path: `${url.pathname}${url.search}`,
        lookup: pinned,
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
          "user-agent": "Stackyard-Previews/1",
          ...authHeaders(target),
        },
        timeout: settings.timeoutMs,
      },
      (res) => {
        const status = res.statusCode ?? null;
        res.resume();
        res.once("end", () => done(status, status !== null && status >= 200 && status < 300 ? null : `HTTP ${status}`));
        res.once("error", () => done(status, `HTTP ${status}, response cut off`));
      },
    );
    request.once("timeout", () => {
      request.destroy();
      done(null, `no answer within ${settings.timeoutMs} ms`);
    });
    request.once("error", (err: NodeJS.ErrnoException) => done(null, (err.code ?? "connection failed").slice(0, 100)));
    request.end(body);
  });
}
