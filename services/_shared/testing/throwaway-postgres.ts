/**
 * A Postgres cluster of its own for a suite that stops and restarts it (the fault suite): `initdb` in a temp dir,
 * run as the `postgres` user on a free loopback port. The machine's shared Postgres is never touched.
 */
import { execFile } from "node:child_process";
import { chown, mkdtemp, rm } from "node:fs/promises";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "./nats-server.js";

const run = promisify(execFile);

export interface ThrowawayPostgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (trust authentication, loopback only). */
  url: string;
  port: number;
  /** `pg_ctl stop -m immediate`: the server dies as on a crash, open connections break. */
  crash(): Promise<void>;
  /** Starts it again on the same port and data directory (crash recovery runs). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** The newest installed server's bin directory (Debian: /usr/lib/postgresql/<major>/bin). */
function pgBin(): string {
  const majors = readdirSync("/usr/lib/postgresql")
    .filter((d) => /^\d+$/.test(d))
    .sort((a, b) => Number(b) - Number(a));
  if (majors.length === 0) throw new Error("no Postgres server under /usr/lib/postgresql (apt-get install postgresql)");
  return `/usr/lib/postgresql/${majors[0]}/bin`;
}

export async function startThrowawayPostgres(): Promise<ThrowawayPostgres> {
  const bin = pgBin();
  // Under /tmp itself, not TMPDIR: the suite's TMPDIR is root's 0700 directory, which the postgres user cannot enter.
  const dir = await mkdtemp("/tmp/stackyard-pg-");
  const pgUid = Number((await run("id", ["-u", "postgres"])).stdout.trim());
  const pgGid = Number((await run("id", ["-g", "postgres"])).stdout.trim());
  await chown(dir, pgUid, pgGid);
  const data = join(dir, "data");
  const asPostgres = (cmd: string, args: string[]) =>
    run("runuser", ["-u", "postgres", "--", join(bin, cmd), ...args], { timeout: 60_000 });
  await asPostgres("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
  const port = await freePort();
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
  const pgCtl = (...args: string[]) => asPostgres("pg_ctl", ["-D", data, "-l", join(dir, "log"), ...args]);
  const pg: ThrowawayPostgres = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    crash: async () => {
      await pgCtl("stop", "-m", "immediate", "-w");
    },
    start: async () => {
      await pgCtl("start", "-w", "-t", "60", "-o", options);
    },
    stop: async () => {
      await pgCtl("stop", "-m", "immediate", "-w").catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
  await pg.start();
  return pg;
}
