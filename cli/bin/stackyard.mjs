#!/usr/bin/env node
// `npx stackyard …` from a checkout: runs the TypeScript sources through tsx. `npm run build:cli` makes the
// standalone single-file script (dist/stackyard.mjs) that needs only Node 20+.
import { register } from "tsx/esm/api";

register();
await import("../src/cli.ts");
