// Builds the standalone CLI: one ES module file, dist/stackyard.mjs, that runs on Node 20+ with nothing installed.
import { chmodSync } from "node:fs";
import { build } from "esbuild";

const outfile = process.argv[2] ?? "dist/stackyard.mjs";
await build({
  entryPoints: ["cli/src/cli.ts"],
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  outfile,
  logLevel: "warning",
  // Bundled CommonJS dependencies (yaml) call require() for Node built-ins; an ES module has no require of its own.
  banner: {
    js: '#!/usr/bin/env node\nimport { createRequire as __stackyardCreateRequire } from "node:module";\nconst require = __stackyardCreateRequire(import.meta.url);',
  },
});
chmodSync(outfile, 0o755);
