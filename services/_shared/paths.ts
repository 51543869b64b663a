import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Repository root, so code finds migrations/ and openapi/ wherever the process was started. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const MIGRATIONS_DIR = join(REPO_ROOT, "migrations");
export const OPENAPI_FILE = join(REPO_ROOT, "openapi", "openapi.yaml");
export const WEB_DIST_DIR = join(REPO_ROOT, "web", "dist");
