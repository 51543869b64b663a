import { expect } from "chai";
import { parsePullRequestEvent } from "./pull-request.js";

const SHA = "0123456789abcdef0123456789abcdef01234567";
const json = (v: unknown) => Buffer.from(JSON.stringify(v));
const github = (action: string, extra: Record<string, unknown> = {}) =>
  json({ action, number: 7, pull_request: { title: "t", merged: false, head: { sha: SHA, ref: "feat" }, ...extra } });

describe("pull-request webhook events", () => {
  it("reads GitHub's opened, reopened, synchronize and closed (merged or not)", () => {
    const h = { "x-github-event": "pull_request" };
    expect(parsePullRequestEvent("github", h, github("opened"))).to.deep.equal({
      action: "open",
      number: 7,
      headCommit: SHA,
      branch: "feat",
      title: "t",
      merged: false,
    });
    expect(parsePullRequestEvent("github", h, github("reopened"))?.action).to.equal("open");
    expect(parsePullRequestEvent("github", h, github("synchronize"))?.action).to.equal("sync");
    expect(parsePullRequestEvent("github", h, github("closed", { merged: true }))).to.include({
      action: "close",
      merged: true,
    });
  });

  it("ignores other GitHub actions and events (a push stays a push)", () => {
    expect(parsePullRequestEvent("github", { "x-github-event": "pull_request" }, github("labeled"))).to.equal(null);
    expect(parsePullRequestEvent("github", { "x-github-event": "push" }, github("opened"))).to.equal(null);
    expect(parsePullRequestEvent("generic", {}, github("opened"))).to.equal(null);
  });

  it("reads Gitea's synchronized and GitLab's merge request actions", () => {
    expect(
      parsePullRequestEvent("gitea", { "x-gitea-event": "pull_request" }, github("synchronized"))?.action,
    ).to.equal("sync");
    const mr = (action: string) =>
      json({ object_attributes: { iid: 3, action, title: "mr", source_branch: "b", last_commit: { id: SHA } } });
    const h = { "x-gitlab-event": "Merge Request Hook" };
    expect(parsePullRequestEvent("gitlab", h, mr("open"))).to.include({ action: "open", number: 3, branch: "b" });
    expect(parsePullRequestEvent("gitlab", h, mr("update"))?.action).to.equal("sync");
    expect(parsePullRequestEvent("gitlab", h, mr("merge"))).to.include({ action: "close", merged: true });
    expect(parsePullRequestEvent("gitlab", h, mr("approved"))).to.equal(null);
  });

  it("refuses a pull-request event without a number, a commit sha or a branch (400 WEBHOOK_PAYLOAD_INVALID)", () => {
    const h = { "x-github-event": "pull_request" };
    const bad = [
      Buffer.from("not json"),
      json({ action: "opened", pull_request: { head: { sha: SHA, ref: "x" } } }),
      json({ action: "opened", number: 7, pull_request: { head: { sha: "main", ref: "x" } } }),
      json({ action: "opened", number: 7, pull_request: { head: { sha: SHA, ref: "" } } }),
    ];
    for (const body of bad) {
      expect(() => parsePullRequestEvent("github", h, body))
        .to.throw()
        .with.property("type", "WEBHOOK_PAYLOAD_INVALID");
    }
  });
});
