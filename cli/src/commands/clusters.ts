/** clusters ls | get | token | nodes. */
import { actions, keys } from "../../../web/src/api/keys.js";
import type { Cluster, ClusterNode, ListOf, RegistrationToken } from "../../../web/src/api/types.js";
import type { Command } from "../command.js";
import { print } from "../output.js";

const clusterFields = (c: Cluster): Array<[string, unknown]> => [
  ["id", c.id],
  ["name", c.name],
  ["status", c.status],
  ["last seen", c.lastSeenAt],
  ["agent key", c.agentPublicKey],
  ["created", c.createdAt],
];

export const clusterCommands: Command[] = [
  {
    words: ["clusters", "ls"],
    args: [],
    summary: "the org's clusters and their agents' status",
    async run(session) {
      const list = await session.client.get<ListOf<Cluster>>(keys.clusters(await session.orgId())[0]);
      print(session.term, session.format, list.items, {
        rows: list.items,
        columns: [
          { header: "ID", value: (c) => c.id },
          { header: "NAME", value: (c) => c.name },
          { header: "STATUS", value: (c) => c.status },
          { header: "LAST SEEN", value: (c) => c.lastSeenAt },
        ],
      });
    },
  },
  {
    words: ["clusters", "get"],
    args: ["cluster"],
    summary: "one cluster (by name or id)",
    async run(session, inv) {
      const cluster = await session.cluster(inv.positionals[0]!);
      print(session.term, session.format, cluster, { fields: clusterFields(cluster) });
    },
  },
  {
    words: ["clusters", "token"],
    args: ["cluster"],
    summary: "a new registration token for the cluster's agent, and the install commands that use it",
    async run(session, inv) {
      const cluster = await session.cluster(inv.positionals[0]!);
      const issued = await session.client.post<RegistrationToken>(
        actions.registrationToken(await session.orgId(), cluster.id),
      );
      print(session.term, session.format, issued, {
        fields: [
          ["token", issued.registrationToken],
          ["expires", issued.registrationTokenExpiresAt],
          ["state (image)", issued.agentInstall.docker.stateDir],
          ["install (image)", issued.agentInstall.docker.command],
          ["state (checkout)", issued.agentInstall.fromSource.stateDir],
          ["install (checkout)", issued.agentInstall.fromSource.command],
        ],
      });
    },
  },
  {
    words: ["clusters", "nodes"],
    args: ["cluster"],
    summary: "the cluster's Swarm nodes from the last inventory",
    async run(session, inv) {
      const cluster = await session.cluster(inv.positionals[0]!);
      const list = await session.client.get<ListOf<ClusterNode>>(
        keys.clusterNodes(await session.orgId(), cluster.id)[0],
      );
      print(session.term, session.format, list.items, {
        rows: list.items,
        columns: [
          { header: "ID", value: (n) => n.nodeId },
          { header: "HOSTNAME", value: (n) => n.hostname },
          { header: "ROLE", value: (n) => n.role },
          { header: "STATUS", value: (n) => n.status },
          { header: "AVAILABILITY", value: (n) => n.availability },
        ],
      });
    },
  },
];
