import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { AppError } from "../../_shared/errors.js";
import { startGitHttpServer, type GitHttpServer } from "../../_shared/testing/git-http-server.js";
import { resolveGitSource, type GitSourceOptions } from "../git-source.js";
import { createTestGitRepo, type TestGitRepo } from "../test-fixtures.js";

const COMPOSE = "services:\n  web:\n    image: nginx:1.27\n";
const USER = "oauth2";
const TOKEN = `glpat-token-${process.pid}-Zk42q`;

/**
 * The HTTPS token path of git-source.ts against a real smart-HTTP server (git http-backend): the token reaches the
 * server through the one-shot credential helper, never through git's argv, environment or the URL, and a redirect
 * is not followed. (Over loopback http here; the release API sends tokens over https:// only.)
 */
describe("git over HTTP with a token credential (real git http-backend)", function () {
  this.timeout(60_000);
  let repo: TestGitRepo;
  let server: GitHttpServer;
  let wrapDir: string;
  let options: GitSourceOptions;
  const address = "127.0.0.1";

  before(async () => {
    repo = createTestGitRepo("stackyard-http-git-");
    writeFileSync(join(repo.work, "compose.yml"), COMPOSE);
    repo.git(repo.work, "add", ".");
    repo.git(repo.work, "commit", "--quiet", "-m", "v1");
    repo.git(repo.work, "push", "--quiet", repo.bare, "main");
    server = await startGitHttpServer(repo.root, USER, TOKEN);
    // A git that records its argv and environment before running the real one.
    wrapDir = mkdtempSync(join(tmpdir(), "stackyard-git-wrap-"));
    const wrapper = join(wrapDir, "git");
    writeFileSync(
      wrapper,
      `#!/bin/sh\nprintf '%s\\n' "$@" >> ${wrapDir}/argv.log\nenv >> ${wrapDir}/env.log\nexec git "$@"\n`,
    );
    chmodSync(wrapper, 0o755);
    options = { maxBytes: 4096, timeoutMs: 15_000, allowedSchemes: ["http"], gitBinary: wrapper };
  });
  after(async () => {
    await server?.stop();
    rmSync(repo.root, { recursive: true, force: true });
    rmSync(wrapDir, { recursive: true, force: true });
  });

  it("fetches with the token sent by the credential helper, never in argv, env or URL", async () => {
    const result = await resolveGitSource(
      { repoUrl: `${server.url}/origin.git`, ref: "main", path: "compose.yml" },
      { ...options, connection: { address, https: { username: USER, token: TOKEN } } },
    );
    expect(result.content).to.equal(COMPOSE);
    const authorized = server.seen.filter((s) => s.authorization !== undefined);
    expect(authorized.length).to.be.greaterThan(0);
    expect(server.seen.every((s) => !s.url.includes(TOKEN))).to.equal(true);
    expect(readFileSync(join(wrapDir, "argv.log"), "utf8")).to.not.include(TOKEN);
    expect(readFileSync(join(wrapDir, "env.log"), "utf8")).to.not.include(TOKEN);
    expect(readFileSync(join(wrapDir, "env.log"), "utf8")).to.not.match(/^SSH_AUTH_SOCK=/m);
  });

  it("connects to the checked address, not to a new DNS answer for the name (pinned resolution)", async () => {
    // `.invalid` never resolves: the fetch can only succeed through the pinned address.
    const port = new URL(server.url).port;
    const result = await resolveGitSource(
      { repoUrl: `http://repo.stackyard.invalid:${port}/origin.git`, ref: "main", path: "compose.yml" },
      { ...options, connection: { address, https: { username: USER, token: TOKEN } } },
    );
    expect(result.content).to.equal(COMPOSE);
  });

  it("reports a refused token as GIT_AUTH_FAILED", async () => {
    const err = await resolveGitSource(
      { repoUrl: `${server.url}/origin.git`, ref: "main", path: "compose.yml" },
      { ...options, connection: { address, https: { username: USER, token: "wrong" } } },
    ).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(AppError);
    expect((err as AppError).type).to.equal("GIT_AUTH_FAILED");
  });

  it("does not follow a redirect (the token never goes to another host)", async () => {
    // Another server that would serve the same repository to the same token: following would succeed.
    const elsewhere = await startGitHttpServer(repo.root, USER, TOKEN);
    server.redirectTo = elsewhere.url;
    try {
      const err = await resolveGitSource(
        { repoUrl: `${server.url}/origin.git`, ref: "main", path: "compose.yml" },
        { ...options, connection: { address, https: { username: USER, token: TOKEN } } },
      ).catch((e: unknown) => e);
      expect((err as AppError).type).to.equal("GIT_REPOSITORY_UNAVAILABLE");
      expect(elsewhere.seen).to.deep.equal([]);
    } finally {
      server.redirectTo = undefined;
      await elsewhere.stop();
    }
  });
});
