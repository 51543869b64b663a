/** scale, logs, secrets ls | set | rm, audit. */
import { readFile } from "node:fs/promises";
import { actions, keys } from "../../../web/src/api/keys.js";
import type { AuditPage, ListOf, ScaleResult, Secret, SecretWritten, ServiceLogs } from "../../../web/src/api/types.js";
import type { Command } from "../command.js";
import { stringOption } from "../command.js";
import { UsageError } from "../exit-codes.js";
import { paint, print } from "../output.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const FOLLOW_POLL_MS = 2000;

export const opsCommands: Command[] = [
  {
    words: ["scale"],
    args: ["env", "service", "replicas"],
    summary: "set a service's replica count (waits for the agent to apply it)",
    async run(session, inv) {
      const [envRef, service, replicasRaw] = inv.positionals as [string, string, string];
      if (!/^\d+$/.test(replicasRaw)) throw new UsageError(`replicas must be a whole number (got "${replicasRaw}")`);
      const env = await session.environment(envRef);
      const result = await session.client.post<ScaleResult>(actions.scale(env.id, service), {
        replicas: Number(replicasRaw),
      });
      print(session.term, session.format, result, {
        fields: [
          ["service", `${result.service} (${result.swarmService})`],
          ["replicas", `${result.previousReplicas} → ${result.replicas}`],
        ],
      });
    },
  },
  {
    words: ["logs"],
    args: ["env", "service"],
    summary: "a service's recent log lines; -f keeps printing new ones",
    options: {
      tail: { type: "string", value: "<n>", help: "lines to show first (default 200, at most 5000)" },
      follow: { type: "boolean", short: "f", help: "keep following (polls every 2 s) until interrupted" },
    },
    async run(session, inv) {
      const [envRef, service] = inv.positionals as [string, string];
      const tail = Number(stringOption(inv, "tail") ?? 200);
      if (!Number.isInteger(tail) || tail < 1 || tail > 5000) throw new UsageError("--tail must be 1-5000");
      const env = await session.environment(envRef);
      const path = keys.serviceLogs(env.id, service)[0];
      const t = session.term;
      let since: number | undefined;
      let seen = new Set<string>();
      for (;;) {
        const logs = await session.client.get<ServiceLogs>(path, { tail, since });
        if (session.format !== "table" && !inv.values.follow) return print(t, session.format, logs, { fields: [] });
        const next = new Set<string>();
        for (const l of logs.lines) {
          // Lines of the second that `since` repeats were printed by the previous poll.
          const key = `${l.ts}|${l.stream}|${l.line}`;
          next.add(key);
          if (seen.has(key)) continue;
          if (session.format !== "table") t.out(JSON.stringify(l) + "\n");
          else t.out((l.stream === "stderr" ? paint(t, "red", l.line) : l.line) + "\n");
        }
        if (!inv.values.follow) return;
        seen = next;
        const last = logs.lines.at(-1)?.ts;
        if (last) since = Math.floor(Date.parse(last) / 1000);
        else since ??= Math.floor(Date.now() / 1000);
        await sleep(FOLLOW_POLL_MS);
      }
    },
  },
  {
    words: ["secrets", "ls"],
    args: ["env"],
    summary: "an environment's secrets (names and versions; values are never shown)",
    async run(session, inv) {
      const env = await session.environment(inv.positionals[0]!);
      const list = await session.client.get<ListOf<Secret>>(keys.secrets(env.id)[0]);
      print(session.term, session.format, list.items, {
        rows: list.items,
        columns: [
          { header: "NAME", value: (s) => s.name },
          { header: "VERSION", value: (s) => s.version },
          { header: "SERVICES", value: (s) => s.services.join(",") || "all" },
          { header: "UPDATED", value: (s) => s.updatedAt },
        ],
      });
    },
  },
  {
    words: ["secrets", "set"],
    args: ["env", "name"],
    summary: "create or rotate a secret; the value comes from stdin or --from-file, never the command line",
    options: {
      "from-file": { type: "string", value: "<path>", help: "read the value from this file (else stdin)" },
      services: { type: "string", value: "<a,b>", help: "only these services mount it (default all)" },
    },
    async run(session, inv) {
      const [envRef, name] = inv.positionals as [string, string];
      const file = stringOption(inv, "from-file");
      if (file === undefined && process.stdin.isTTY) {
        throw new UsageError(
          'pipe the value on stdin (printf %s "$VALUE" | stackyard secrets set …) or use --from-file',
        );
      }
      const raw = file !== undefined ? await readFile(file) : await inv.stdin();
      // `echo value |` adds one newline that is not part of the value; a file is taken as it is.
      const value = file !== undefined ? raw.toString("utf8") : raw.toString("utf8").replace(/\r?\n$/, "");
      if (!value) throw new UsageError("the secret value is empty");
      const services = stringOption(inv, "services")
        ?.split(",")
        .map((s) => s.trim())
        .filter(Boolean);
      const env = await session.environment(envRef);
      const written = await session.client.put<SecretWritten>(actions.secret(env.id, name), {
        value,
        ...(services ? { services } : {}),
      });
      print(session.term, session.format, written, {
        fields: [
          ["name", written.name],
          ["version", written.version],
          ["", written.created ? "created" : "rotated (deploy to apply)"],
        ],
      });
    },
  },
  {
    words: ["secrets", "rm"],
    args: ["env", "name"],
    summary: "delete a secret",
    async run(session, inv) {
      const [envRef, name] = inv.positionals as [string, string];
      const env = await session.environment(envRef);
      await session.client.delete(actions.secret(env.id, name));
      session.term.err(`secret ${name} deleted\n`);
    },
  },
  {
    words: ["audit"],
    args: [],
    summary: "the org's audit log, newest first",
    options: {
      action: { type: "string", value: "<action>", help: "an action, or a family like auth.*" },
      actor: { type: "string", value: "<id>", help: "only this actor" },
      from: { type: "string", value: "<time>", help: "ISO time" },
      to: { type: "string", value: "<time>", help: "ISO time" },
      limit: { type: "string", value: "<n>", help: "at most this many (default 50, at most 200)" },
    },
    async run(session, inv) {
      const limit = Number(stringOption(inv, "limit") ?? 50);
      if (!Number.isInteger(limit) || limit < 1 || limit > 200) throw new UsageError("--limit must be 1-200");
      const orgId = await session.orgId();
      const filters = Object.fromEntries(
        (["action", "actor", "from", "to"] as const).flatMap((k) => {
          const v = stringOption(inv, k);
          return v !== undefined ? [[k, v]] : [];
        }),
      );
      const page = await session.client.get<AuditPage>(`/v1/orgs/${encodeURIComponent(orgId)}/audit`, {
        ...filters,
        limit,
      });
      print(session.term, session.format, page.items, {
        rows: page.items,
        columns: [
          { header: "TIME", value: (e) => e.ts },
          { header: "ACTOR", value: (e) => `${e.actorType}:${e.actorId ?? "-"}` },
          { header: "ACTION", value: (e) => e.action },
          { header: "TARGET", value: (e) => (e.targetType ? `${e.targetType}:${e.targetId ?? "-"}` : null) },
          { header: "IP", value: (e) => e.ip },
        ],
      });
    },
  },
];
