// Builds the standalone CLI: one ES module file, dist/stackyard.mjs, that runs on Node 20+ with nothing installed.
import { bundleNodeProgram } from "./bundle.mjs";

await bundleNodeProgram({
  entry: "cli/src/cli.ts",
  outfile: process.argv[2] ?? "dist/stackyard.mjs",
  target: "node20",
});
