/** deploy, rollback, and deployments ls | get | events | cancel. */
import { actions, keys } from "../../../web/src/api/keys.js";
import type { Deployment, DeploymentPage } from "../../../web/src/api/types.js";
import type { Command, Invocation } from "../command.js";
import { stringOption } from "../command.js";
import { EXIT, UsageError } from "../exit-codes.js";
import { print } from "../output.js";
import type { Session } from "../session.js";
import { parseDuration, waitForDeployment } from "../wait.js";

const waitOptions = {
  wait: {
    type: "boolean",
    short: "w",
    help: "follow the live events until the deployment ends; exit 0/1/2 on SUCCEEDED/FAILED/CANCELED",
  },
  timeout: { type: "string", value: "<duration>", help: "with --wait: give up waiting after this (90s, 15m; exit 3)" },
  "idempotency-key": {
    type: "string",
    value: "<key>",
    help: "the same key returns the same deployment (safe CI retries)",
  },
} as const;

const deploymentFields = (d: Deployment): Array<[string, unknown]> => [
  ["id", d.id],
  ["kind", d.kind],
  ["status", d.status],
  ["release", d.releaseVersion !== null ? `v${d.releaseVersion} (${d.releaseId})` : d.releaseId],
  ["created", d.createdAt],
  ["duration", d.durationMs !== null ? `${(d.durationMs / 1000).toFixed(1)}s` : null],
  ["error", d.errorMessage],
];

function timeoutOf(inv: Invocation): number | null {
  const raw = stringOption(inv, "timeout");
  if (raw === undefined) return null;
  if (!inv.values.wait) throw new UsageError("--timeout only applies with --wait");
  const ms = parseDuration(raw);
  if (ms === null || ms <= 0) throw new UsageError(`--timeout must be a duration like 90s or 15m (got "${raw}")`);
  return ms;
}

async function started(session: Session, inv: Invocation, deployment: Deployment) {
  if (!inv.values.wait) {
    print(session.term, session.format, deployment, { fields: deploymentFields(deployment) });
    return EXIT.OK;
  }
  if (session.format === "table") session.term.err(`deployment ${deployment.id} ${deployment.status}\n`);
  return waitForDeployment(session, deployment, timeoutOf(inv));
}

const keyHeader = (inv: Invocation) => {
  const key = stringOption(inv, "idempotency-key");
  return key ? { "idempotency-key": key } : undefined;
};

export const deployCommands: Command[] = [
  {
    words: ["deploy"],
    args: ["env"],
    summary: "deploy a release to an environment (the CI one-liner: deploy shop/prod --release 7 --wait)",
    options: {
      release: { type: "string", short: "r", value: "<version|id>", help: "the release (required)" },
      ...waitOptions,
    },
    async run(session, inv) {
      const releaseRef = stringOption(inv, "release");
      if (!releaseRef) throw new UsageError("deploy needs --release <version|id>");
      timeoutOf(inv);
      const env = await session.environment(inv.positionals[0]!);
      const release = await session.release(env.stackId, releaseRef);
      const headers = keyHeader(inv);
      const deployment = await session.client.request<Deployment>("POST", actions.deploy(env.id), {
        body: { releaseId: release.id },
        ...(headers ? { headers } : {}),
      });
      return started(session, inv, deployment);
    },
  },
  {
    words: ["rollback"],
    args: ["env"],
    summary: "roll an environment back to its previous successful release (or --release)",
    options: {
      release: { type: "string", short: "r", value: "<version|id>", help: "roll back to this release" },
      ...waitOptions,
    },
    async run(session, inv) {
      timeoutOf(inv);
      const env = await session.environment(inv.positionals[0]!);
      const releaseRef = stringOption(inv, "release");
      const body = releaseRef ? { releaseId: (await session.release(env.stackId, releaseRef)).id } : {};
      const headers = keyHeader(inv);
      const deployment = await session.client.request<Deployment>("POST", actions.rollback(env.id), {
        body,
        ...(headers ? { headers } : {}),
      });
      return started(session, inv, deployment);
    },
  },
  {
    words: ["deployments", "ls"],
    args: ["env"],
    summary: "an environment's deployments, newest first",
    options: { limit: { type: "string", value: "<n>", help: "how many (default 20, at most 200)" } },
    async run(session, inv) {
      const env = await session.environment(inv.positionals[0]!);
      const limit = Number(stringOption(inv, "limit") ?? 20);
      if (!Number.isInteger(limit) || limit < 1 || limit > 200) throw new UsageError("--limit must be 1-200");
      const page = await session.client.get<DeploymentPage>(...keys.deploymentsPage(env.id, limit, null));
      print(session.term, session.format, page.items, {
        rows: page.items,
        columns: [
          { header: "ID", value: (d) => d.id },
          { header: "KIND", value: (d) => d.kind },
          { header: "RELEASE", value: (d) => d.releaseVersion },
          { header: "STATUS", value: (d) => d.status },
          { header: "CREATED", value: (d) => d.createdAt },
          { header: "DURATION", value: (d) => (d.durationMs !== null ? `${(d.durationMs / 1000).toFixed(1)}s` : null) },
        ],
      });
    },
  },
  {
    words: ["deployments", "get"],
    args: ["deployment"],
    summary: "one deployment",
    async run(session, inv) {
      const d = await session.client.get<Deployment>(keys.deployment(inv.positionals[0]!)[0]);
      print(session.term, session.format, d, { fields: deploymentFields(d) });
    },
  },
  {
    words: ["deployments", "events"],
    args: ["deployment"],
    summary: "a deployment's console: every event so far, then the live ones until it ends (exit codes as --wait)",
    options: { timeout: { ...waitOptions.timeout, help: "give up following after this (90s, 15m; exit 3)" } },
    async run(session, inv) {
      const d = await session.client.get<Deployment>(keys.deployment(inv.positionals[0]!)[0]);
      const raw = stringOption(inv, "timeout");
      const ms = raw === undefined ? null : parseDuration(raw);
      if (raw !== undefined && (ms === null || ms <= 0)) throw new UsageError(`--timeout must be a duration like 90s`);
      return waitForDeployment(session, d, ms);
    },
  },
  {
    words: ["deployments", "cancel"],
    args: ["deployment"],
    summary: "cancel a PENDING or RUNNING deployment",
    async run(session, inv) {
      const d = await session.client.post<Deployment>(actions.cancelDeployment(inv.positionals[0]!));
      print(session.term, session.format, d, { fields: deploymentFields(d) });
    },
  },
];
