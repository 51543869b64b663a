/** The executable: runs the CLI on this process's argv and environment, and exits with its code. */
import { runCli } from "./main.js";

process.exitCode = await runCli(process.argv.slice(2), { env: process.env });
