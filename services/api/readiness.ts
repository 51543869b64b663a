/** Readiness: the process can serve traffic only when Postgres and NATS answer and the schema is current. */

export interface ReadinessProbes {
  postgres(): Promise<void>;
  nats(): Promise<void>;
  pendingMigrations(): Promise<string[]>;
}

export interface CheckResult {
  ok: boolean;
  error?: string;
}

export interface Readiness {
  ready: boolean;
  checks: { postgres: CheckResult; nats: CheckResult; migrations: CheckResult & { pending?: string[] } };
}

export const PROBE_TIMEOUT_MS = 2_000;

async function probe(run: () => Promise<void>, timeoutMs: number): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      run(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { ok: true };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}

export async function checkReadiness(probes: ReadinessProbes, timeoutMs = PROBE_TIMEOUT_MS): Promise<Readiness> {
  const [postgres, nats] = await Promise.all([probe(probes.postgres, timeoutMs), probe(probes.nats, timeoutMs)]);
  let migrations: Readiness["checks"]["migrations"];
  if (!postgres.ok) {
    migrations = { ok: false, error: "postgres unreachable" };
  } else {
    let pending: string[] = [];
    const result = await probe(async () => {
      pending = await probes.pendingMigrations();
    }, timeoutMs);
    migrations = !result.ok
      ? result
      : pending.length > 0
        ? { ok: false, error: `${pending.length} migration(s) pending`, pending }
        : { ok: true };
  }
  return { ready: postgres.ok && nats.ok && migrations.ok, checks: { postgres, nats, migrations } };
}

/** What an anonymous caller sees: each check's verdict, never the error text (hosts, ports, driver messages). */
export function withoutDetails(readiness: Readiness): Readiness {
  const { postgres, nats, migrations } = readiness.checks;
  return {
    ready: readiness.ready,
    checks: { postgres: { ok: postgres.ok }, nats: { ok: nats.ok }, migrations: { ok: migrations.ok } },
  };
}
