#!/usr/bin/env node
// `npx stackyard-agent register|run|help|version` from a checkout (after npm ci): the agent's TypeScript sources
// through tsx, as the agent image runs them. Exit codes are main()'s: 0 success, 1 failure, 2 invalid configuration.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/main.ts");
process.exit(await main(process.argv.slice(2), process.env));
