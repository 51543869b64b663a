/** stacks ls | create | get, envs ls | create | get | status. */
import { keys } from "../../../web/src/api/keys.js";
import type {
  Environment,
  EnvironmentDetail,
  EnvironmentStatus,
  ListOf,
  Stack,
  StackDetail,
} from "../../../web/src/api/types.js";
import type { Command } from "../command.js";
import { stringOption } from "../command.js";
import { UsageError } from "../exit-codes.js";
import { paint, print } from "../output.js";

const envColumns = [
  { header: "ID", value: (e: Environment) => e.id },
  { header: "NAME", value: (e: Environment) => e.name },
  { header: "SWARM STACK", value: (e: Environment) => e.swarmStack },
  { header: "CLUSTER", value: (e: Environment) => e.clusterId },
];

export const stackCommands: Command[] = [
  {
    words: ["stacks", "ls"],
    args: [],
    summary: "the org's stacks",
    async run(session) {
      const list = await session.client.get<ListOf<Stack>>(keys.stacks(await session.orgId())[0]);
      print(session.term, session.format, list.items, {
        rows: list.items,
        columns: [
          { header: "ID", value: (s) => s.id },
          { header: "NAME", value: (s) => s.name },
          { header: "DESCRIPTION", value: (s) => s.description },
        ],
      });
    },
  },
  {
    words: ["stacks", "create"],
    args: ["name"],
    summary: "create a stack",
    options: { description: { type: "string", value: "<text>", help: "what the stack is" } },
    async run(session, inv) {
      const description = stringOption(inv, "description");
      const stack = await session.client.post<Stack>(keys.stacks(await session.orgId())[0], {
        name: inv.positionals[0],
        ...(description !== undefined ? { description } : {}),
      });
      print(session.term, session.format, stack, {
        fields: [
          ["id", stack.id],
          ["name", stack.name],
        ],
      });
    },
  },
  {
    words: ["stacks", "get"],
    args: ["stack"],
    summary: "one stack with its environments",
    async run(session, inv) {
      const stack = await session.stack(inv.positionals[0]!);
      const detail = await session.client.get<StackDetail>(keys.stack(stack.orgId, stack.id)[0]);
      const envs = await session.client.get<ListOf<Environment>>(keys.environments(stack.id)[0]);
      print(
        session.term,
        session.format,
        { ...detail, environments: envs.items },
        {
          fields: [
            ["id", stack.id],
            ["name", stack.name],
            ["description", stack.description],
            ["environments", envs.items.map((e) => e.name).join(", ") || "-"],
          ],
        },
      );
    },
  },
  {
    words: ["envs", "ls"],
    args: ["stack"],
    summary: "a stack's environments",
    async run(session, inv) {
      const stack = await session.stack(inv.positionals[0]!);
      const list = await session.client.get<ListOf<Environment>>(keys.environments(stack.id)[0]);
      print(session.term, session.format, list.items, { rows: list.items, columns: envColumns });
    },
  },
  {
    words: ["envs", "create"],
    args: ["stack", "name"],
    summary: "create an environment of a stack on a cluster",
    options: {
      cluster: { type: "string", value: "<cluster>", help: "the cluster it deploys to (name or id; required)" },
      "swarm-stack": { type: "string", value: "<name>", help: "the Swarm stack name (default <stack>-<env>)" },
      "timeout-seconds": { type: "string", value: "<n>", help: "deploy timeout (default 600)" },
    },
    async run(session, inv) {
      const clusterRef = stringOption(inv, "cluster");
      if (!clusterRef) throw new UsageError("envs create needs --cluster <cluster>");
      const stack = await session.stack(inv.positionals[0]!);
      const cluster = await session.cluster(clusterRef);
      const timeout = stringOption(inv, "timeout-seconds");
      const swarmStack = stringOption(inv, "swarm-stack");
      if (timeout !== undefined && !/^\d+$/.test(timeout)) throw new UsageError("--timeout-seconds must be a number");
      const env = await session.client.post<Environment>(keys.environments(stack.id)[0], {
        name: inv.positionals[1],
        clusterId: cluster.id,
        ...(timeout !== undefined ? { deployTimeoutSeconds: Number(timeout) } : {}),
        ...(swarmStack !== undefined ? { swarmStack } : {}),
      });
      print(session.term, session.format, env, { rows: [env], columns: envColumns });
    },
  },
  {
    words: ["envs", "get"],
    args: ["env"],
    summary: "one environment (<stack>/<env> or id)",
    async run(session, inv) {
      const env = await session.environment(inv.positionals[0]!);
      const detail = await session.client.get<EnvironmentDetail>(keys.environment(env.id)[0]);
      print(session.term, session.format, detail, {
        fields: [
          ["id", env.id],
          ["name", env.name],
          ["swarm stack", env.swarmStack],
          ["cluster", env.clusterId],
          ["deploy timeout", `${env.deployTimeoutSeconds}s`],
        ],
      });
    },
  },
  {
    words: ["envs", "status"],
    args: ["env"],
    summary: "what runs on the cluster: services, replicas, drift, and whether it is in sync",
    async run(session, inv) {
      const env = await session.environment(inv.positionals[0]!);
      const status = await session.client.get<EnvironmentStatus>(keys.environmentStatus(env.id)[0]);
      if (session.format !== "table") return print(session.term, session.format, status, { fields: [] });
      const t = session.term;
      const sync = status.inSync ? paint(t, "green", "in sync") : paint(t, "yellow", "out of sync");
      t.out(
        `${status.stackName}: ${sync}, release ${status.desiredRelease ? `v${status.desiredRelease.version}` : "none"}` +
          ` (observed ${status.ageSeconds}s ago from the ${status.source})\n`,
      );
      if (status.agentError) t.out(paint(t, "red", `agent: ${status.agentError}`) + "\n");
      if (status.missingServices.length > 0) t.out(`missing: ${status.missingServices.join(", ")}\n`);
      print(t, "table", status.services, {
        rows: status.services,
        columns: [
          { header: "SERVICE", value: (s) => s.name },
          { header: "IMAGE", value: (s) => s.image },
          {
            header: "REPLICAS",
            value: (s) => (s.mode === "global" ? "global" : `${s.runningReplicas}/${s.desiredReplicas}`),
          },
          { header: "DRIFT", value: (s) => s.drift.join("; ") || "-" },
        ],
      });
    },
  },
];
