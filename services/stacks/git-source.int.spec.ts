import { rmSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { AppError } from "../_shared/errors.js";
import { checkRepoUrl, resolveGitSource, type GitSourceOptions } from "./git-source.js";
import { createTestGitRepo } from "./test-fixtures.js";

const COMPOSE_V1 = "services:\n  web:\n    image: nginx:1.26\n";
const COMPOSE_V2 = "services:\n  web:\n    image: nginx:1.27\n";
const MANIFEST = "compose: app.yml\nhooks:\n  pre_deploy:\n    service: web\n    command: [migrate]\n";

describe("resolveGitSource (real git, local bare repository)", () => {
  let root: string;
  let repoUrl: string;
  let firstCommit: string;
  let secondCommit: string;
  let treeOf: (spec: string) => string;
  const options: GitSourceOptions = { maxBytes: 4096, timeoutMs: 15_000, allowedSchemes: ["file"] };

  before(() => {
    const repo = createTestGitRepo("stackyard-git-test-");
    const { work, bare, git } = repo;
    root = repo.root;
    mkdirSync(join(work, "deploy"), { recursive: true });
    writeFileSync(join(work, "deploy", "compose.yml"), COMPOSE_V1);
    writeFileSync(join(work, "big.yml"), "#".repeat(10_000));
    git(work, "add", ".");
    git(work, "commit", "--quiet", "-m", "v1");
    firstCommit = git(work, "rev-parse", "HEAD");
    git(work, "tag", "-a", "v1.0", "-m", "release 1.0");
    writeFileSync(join(work, "deploy", "compose.yml"), COMPOSE_V2);
    git(work, "commit", "--quiet", "-am", "v2");
    secondCommit = git(work, "rev-parse", "HEAD");
    git(work, "branch", "old", firstCommit);
    git(work, "checkout", "--quiet", "-b", "hooks");
    writeFileSync(join(work, "deploy", "app.yml"), COMPOSE_V1);
    writeFileSync(join(work, "deploy", "stackyard.yaml"), MANIFEST);
    git(work, "add", ".");
    git(work, "commit", "--quiet", "-m", "manifest");
    git(work, "checkout", "--quiet", "main");
    git(work, "push", "--quiet", "--tags", bare, "main", "old", "hooks");
    repoUrl = `file://${bare}`;
    treeOf = (spec) => git(work, "rev-parse", spec);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it("resolves a branch to its commit and freezes the file content", async () => {
    const result = await resolveGitSource({ repoUrl, ref: "main", path: "deploy/compose.yml" }, options);
    expect(result).to.deep.equal({
      content: COMPOSE_V2,
      manifestYaml: null,
      commit: secondCommit,
      sourceRef: `${repoUrl}@${secondCommit}:deploy/compose.yml`,
      // the compose file's directory: what auto-sync compares between commits
      watchedTreeId: treeOf(`${secondCommit}:deploy`),
    });
  });

  it("reads the stackyard.yaml beside the compose file, or the compose file the manifest names", async () => {
    const beside = await resolveGitSource({ repoUrl, ref: "hooks", path: "deploy/app.yml" }, options);
    expect(beside).to.include({ content: COMPOSE_V1, manifestYaml: MANIFEST });
    const viaManifest = await resolveGitSource({ repoUrl, ref: "hooks", path: "deploy/stackyard.yaml" }, options);
    expect(viaManifest).to.include({ content: COMPOSE_V1, manifestYaml: MANIFEST });
  });

  it("resolves another branch, an annotated tag, a full ref name and a commit sha", async () => {
    for (const ref of ["old", "v1.0", "refs/heads/old", firstCommit]) {
      const result = await resolveGitSource({ repoUrl, ref, path: "./deploy/compose.yml" }, options);
      expect(result.commit, ref).to.equal(firstCommit);
      expect(result.content, ref).to.equal(COMPOSE_V1);
    }
  });

  const failures: Array<[string, { ref: string; path: string }, number, string]> = [
    ["an unknown branch", { ref: "nope", path: "deploy/compose.yml" }, 422, "GIT_REF_NOT_FOUND"],
    ["an unknown commit", { ref: "0".repeat(40), path: "deploy/compose.yml" }, 422, "GIT_REF_NOT_FOUND"],
    ["a missing file", { ref: "main", path: "deploy/missing.yml" }, 422, "GIT_PATH_NOT_FOUND"],
    ["a directory", { ref: "main", path: "deploy" }, 422, "GIT_PATH_NOT_FOUND"],
    ["a file over the size limit", { ref: "main", path: "big.yml" }, 413, "COMPOSE_TOO_LARGE"],
    [
      "a ref that looks like an option",
      { ref: "--upload-pack=touch /tmp/pwned", path: "a.yml" },
      422,
      "GIT_REF_INVALID",
    ],
    ["a ref with a revision expression", { ref: "main~1", path: "a.yml" }, 422, "GIT_REF_INVALID"],
    ["a path leaving the repository", { ref: "main", path: "../etc/passwd" }, 422, "GIT_PATH_INVALID"],
    ["an absolute path", { ref: "main", path: "/etc/passwd" }, 422, "GIT_PATH_INVALID"],
  ];
  for (const [name, input, status, code] of failures) {
    it(`rejects ${name} with ${code}`, async () => {
      await expectAppError(resolveGitSource({ repoUrl, ...input }, options), status, code);
    });
  }

  it("reports an unreachable repository without leaking git's output", async () => {
    const err = await expectAppError(
      resolveGitSource({ repoUrl: `file://${root}/absent.git`, ref: "main", path: "a.yml" }, options),
      422,
      "GIT_REPOSITORY_UNAVAILABLE",
    );
    expect(JSON.stringify(err.data)).not.to.include(root);
  });

  it("refuses the file scheme unless it is allowed", async () => {
    await expectAppError(
      resolveGitSource({ repoUrl, ref: "main", path: "deploy/compose.yml" }, { ...options, allowedSchemes: ["https"] }),
      422,
      "GIT_SCHEME_NOT_ALLOWED",
    );
  });

  it("gives up at the deadline", async () => {
    await expectAppError(
      resolveGitSource({ repoUrl, ref: "main", path: "deploy/compose.yml" }, { ...options, timeoutMs: 1 }),
      422,
      "GIT_TIMEOUT",
    );
  });
});

describe("checkRepoUrl", () => {
  const all = ["https", "ssh", "http", "file"] as const;
  const accepted: Array<[string, string]> = [
    ["https://github.com/acme/app.git", "https"],
    ["ssh://git@github.com:22/acme/app.git", "ssh"],
    ["git@github.com:acme/app.git", "ssh"],
    ["file:///srv/git/app.git", "file"],
  ];
  for (const [url, scheme] of accepted) {
    it(`accepts ${url}`, () => expect(checkRepoUrl(url, all)).to.equal(scheme));
  }
  const rejected: Array<[string, string]> = [
    ["ext::sh -c touch% /tmp/pwned", "GIT_URL_INVALID"],
    ["file::/etc", "GIT_URL_INVALID"],
    ["https::github.com/acme/app", "GIT_URL_INVALID"],
    ["--upload-pack=touch /tmp/pwned", "GIT_URL_INVALID"],
    ["-oProxyCommand=x", "GIT_URL_INVALID"],
    ["/srv/git/app.git", "GIT_URL_INVALID"],
    ["../app.git", "GIT_URL_INVALID"],
    ["https://user:token@github.com/acme/app.git", "GIT_URL_INVALID"],
    ["ssh://-oProxyCommand=x/app", "GIT_URL_INVALID"],
    ["git@-oProxyCommand=x:app", "GIT_URL_INVALID"],
    ["ftp://example.com/app.git", "GIT_SCHEME_NOT_ALLOWED"],
    ["https://github.com/acme/app.git\n--upload-pack=x", "GIT_URL_INVALID"],
  ];
  for (const [url, code] of rejected) {
    it(`rejects ${JSON.stringify(url)} with ${code}`, () => {
      expect(() => checkRepoUrl(url, all))
        .to.throw(AppError)
        .with.property("type", code);
    });
  }
  it("allows only the configured schemes", () => {
    expect(() => checkRepoUrl("file:///srv/app.git", ["https", "ssh"]))
      .to.throw(AppError)
      .with.property("type", "GIT_SCHEME_NOT_ALLOWED");
  });
});

async function expectAppError(promise: Promise<unknown>, status: number, code: string): Promise<AppError> {
  try {
    await promise;
  } catch (err) {
    expect(err).to.be.instanceOf(AppError);
    expect((err as AppError).type).to.equal(code);
    expect((err as AppError).code).to.equal(status);
    return err as AppError;
  }
  return expect.fail(`expected ${code}`);
}
