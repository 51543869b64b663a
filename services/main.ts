/** Process entry point: `SERVICES=api,auth node services/main.ts` starts that subset; default is all. */
import { ConfigError, loadConfig } from "./_shared/config.js";
import { startServices } from "./registry.js";

function fatal(msg: string, extra: Record<string, unknown>): never {
  console.error(JSON.stringify({ ts: Date.now(), level: "fatal", msg, ...extra }));
  process.exit(1);
}

let config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) fatal("invalid configuration", { problems: err.problems });
  throw err;
}

const platform = await startServices(config).catch((err: unknown) =>
  fatal("failed to start", { error: err instanceof Error ? err.message : String(err) }),
);

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    platform.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
