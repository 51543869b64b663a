// One Node program as one ES module file (esbuild): what the standalone CLI and the agent image ship, so neither
// needs node_modules nor the TypeScript loader at run time.
import { chmodSync } from "node:fs";
import { build } from "esbuild";

// Bundled CommonJS dependencies call require() for Node built-ins (yaml), and dockerode's BuildKit code reads
// __dirname (so that, stubbed in the agent, it fails with the stub's message); an ES module has neither of its own.
const COMMONJS_SHIMS = [
  'import { createRequire as __stackyardCreateRequire } from "node:module";',
  'import { fileURLToPath as __stackyardFileURLToPath } from "node:url";',
  'import { dirname as __stackyardDirname } from "node:path";',
  "const require = __stackyardCreateRequire(import.meta.url);",
  "const __filename = __stackyardFileURLToPath(import.meta.url);",
  "const __dirname = __stackyardDirname(__filename);",
].join("\n");

/** esbuild plugin: each named package is replaced by the given CommonJS source. */
function stubPackages(stubs) {
  const names = Object.keys(stubs);
  return {
    name: "stub-packages",
    setup(build) {
      if (names.length === 0) return;
      const filter = new RegExp(`^(${names.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|")})$`);
      build.onResolve({ filter }, (args) => ({ path: args.path, namespace: "stub" }));
      build.onLoad({ filter: /.*/, namespace: "stub" }, (args) => ({ contents: stubs[args.path], loader: "js" }));
    },
  };
}

/**
 * `stubs`: packages a dependency requires but the program never uses, replaced by a small stand-in (package name →
 * CommonJS source), so neither their code nor what they set up at load time ends up in the process.
 */
export async function bundleNodeProgram({ entry, outfile, target, stubs = {} }) {
  await build({
    entryPoints: [entry],
    bundle: true,
    platform: "node",
    format: "esm",
    target,
    outfile,
    logLevel: "warning",
    plugins: [stubPackages(stubs)],
    banner: { js: `#!/usr/bin/env node\n${COMMONJS_SHIMS}` },
  });
  chmodSync(outfile, 0o755);
}
