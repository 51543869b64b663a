/** releases ls | create | get | diff. */
import { readFile } from "node:fs/promises";
import { actions, keys } from "../../../web/src/api/keys.js";
import type { EnvironmentDiff, ListOf, Release, ReleaseSummary } from "../../../web/src/api/types.js";
import type { Command } from "../command.js";
import { stringOption } from "../command.js";
import { UsageError } from "../exit-codes.js";
import { paint, print } from "../output.js";

/** `--git <repoUrl>@<ref>:<path>`; the URL itself may hold `@` (ssh://git@host/…) and `:`, so split from the right. */
export function parseGitSource(value: string): { repoUrl: string; ref: string; path: string } {
  const at = value.lastIndexOf("@");
  const colon = value.indexOf(":", at + 1);
  if (at <= 0 || colon < 0) throw new UsageError(`--git is <repoUrl>@<ref>:<path> (got "${value}")`);
  const repoUrl = value.slice(0, at);
  const ref = value.slice(at + 1, colon);
  const path = value.slice(colon + 1);
  if (!repoUrl || !ref || !path) throw new UsageError(`--git is <repoUrl>@<ref>:<path> (got "${value}")`);
  return { repoUrl, ref, path };
}

const releaseColumns = [
  { header: "VERSION", value: (r: ReleaseSummary) => r.version },
  { header: "ID", value: (r: ReleaseSummary) => r.id },
  { header: "SOURCE", value: (r: ReleaseSummary) => (r.sourceRef ? `${r.sourceType} ${r.sourceRef}` : r.sourceType) },
  { header: "CREATED", value: (r: ReleaseSummary) => r.createdAt },
  { header: "WARNINGS", value: (r: ReleaseSummary) => r.warnings.length },
];

export const releaseCommands: Command[] = [
  {
    words: ["releases", "ls"],
    args: ["stack"],
    summary: "a stack's releases, newest first",
    async run(session, inv) {
      const stack = await session.stack(inv.positionals[0]!);
      const list = await session.client.get<ListOf<ReleaseSummary>>(...keys.releases(stack.id));
      print(session.term, session.format, list.items, { rows: list.items, columns: releaseColumns });
    },
  },
  {
    words: ["releases", "create"],
    args: ["stack"],
    summary: "a new immutable release from a compose file or a git source",
    options: {
      file: { type: "string", short: "f", value: "<compose.yaml>", help: "upload this compose file (- for stdin)" },
      git: { type: "string", value: "<url>@<ref>:<path>", help: "fetch the compose file from git, pinned to a commit" },
      "source-ref": { type: "string", value: "<text>", help: "free text stored with an upload (e.g. the CI build)" },
      manifest: {
        type: "string",
        value: "<stackyard.yaml>",
        help: "upload this release manifest with the compose file (deploy timeout, pre/post-deploy hooks)",
      },
    },
    async run(session, inv) {
      const file = stringOption(inv, "file");
      const git = stringOption(inv, "git");
      if ((file === undefined) === (git === undefined)) throw new UsageError("releases create needs --file or --git");
      const stack = await session.stack(inv.positionals[0]!);
      const sourceRef = stringOption(inv, "source-ref");
      const manifest = stringOption(inv, "manifest");
      if (manifest !== undefined && git !== undefined)
        throw new UsageError(
          "--manifest is for uploads; a git release reads the stackyard.yaml beside the compose file",
        );
      const body =
        git !== undefined
          ? { sourceType: "git", git: parseGitSource(git) }
          : {
              sourceType: "upload",
              composeYaml: file === "-" ? (await inv.stdin()).toString("utf8") : await readFile(file!, "utf8"),
              ...(sourceRef !== undefined ? { sourceRef } : {}),
              ...(manifest !== undefined ? { manifestYaml: await readFile(manifest, "utf8") } : {}),
            };
      const release = await session.client.post<Release>(actions.createRelease(stack.id), body);
      print(session.term, session.format, release, { rows: [release], columns: releaseColumns });
      for (const w of release.warnings)
        session.term.err(paint(session.term, "yellow", `warning: ${JSON.stringify(w)}`) + "\n");
    },
  },
  {
    words: ["releases", "get"],
    args: ["stack", "release"],
    summary: "one release with its compose file",
    async run(session, inv) {
      const stack = await session.stack(inv.positionals[0]!);
      const summary = await session.release(stack.id, inv.positionals[1]!);
      const release = await session.client.get<Release>(keys.release(summary.id)[0]);
      if (session.format !== "table") return print(session.term, session.format, release, { fields: [] });
      session.term.out(`# release ${release.version} (${release.id}) sha256 ${release.sha256}\n${release.composeYaml}`);
      if (release.manifestYaml !== null) session.term.out(`\n# stackyard.yaml\n${release.manifestYaml}`);
    },
  },
  {
    words: ["releases", "diff"],
    args: ["env"],
    summary: "what deploying a release would change in an environment (default: from what runs now)",
    options: {
      to: { type: "string", value: "<release>", help: "the release to compare with (version or id; required)" },
      from: { type: "string", value: "<release|current>", help: "the other side (default current)" },
    },
    async run(session, inv) {
      const to = stringOption(inv, "to");
      if (!to) throw new UsageError("releases diff needs --to <release>");
      const env = await session.environment(inv.positionals[0]!);
      const from = stringOption(inv, "from") ?? "current";
      const toId = (await session.release(env.stackId, to)).id;
      const fromId = from === "current" ? "current" : (await session.release(env.stackId, from)).id;
      const diff = await session.client.get<EnvironmentDiff>(...keys.diff(env.id, fromId, toId));
      if (session.format !== "table") return print(session.term, session.format, diff, { fields: [] });
      const t = session.term;
      for (const line of diff.unified.split("\n")) {
        t.out(
          (line.startsWith("+") ? paint(t, "green", line) : line.startsWith("-") ? paint(t, "red", line) : line) + "\n",
        );
      }
      const s = diff.services;
      t.err(`services: +${s.added.length} -${s.removed.length} ~${s.changed.length}\n`);
    },
  },
];
