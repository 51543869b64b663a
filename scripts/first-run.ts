/**
 * `make dev` on an empty database: creates a first org and its ORG_ADMIN with a generated password and prints
 * the login once. Does nothing when an org exists.
 */
import { randomBytes } from "node:crypto";
import { createDb } from "../services/_shared/db.js";
import { createOrg, orgCount } from "../services/auth/orgs.logic.js";

const url = process.env.DATABASE_URL;
if (!url) throw new Error("DATABASE_URL is missing");
const uiUrl = process.argv[2] ?? "http://127.0.0.1:8080";
const db = createDb(url, 2);
try {
  if ((await orgCount(db)) === 0) {
    const email = "admin@stackyard.local";
    const password = randomBytes(18).toString("base64url");
    await createOrg(
      db,
      { name: "default", admin: { email, password } },
      { bootstrapToken: false },
      { ip: null, userAgent: "first-run" },
    );
    console.error(
      [
        "",
        "  First run: created org 'default' and its ORG_ADMIN. This password is shown only once:",
        `    email:    ${email}`,
        `    password: ${password}`,
        `    log in:   ${uiUrl}  (API: POST ${uiUrl}/v1/auth/login)`,
        "",
      ].join("\n"),
    );
  }
} finally {
  await db.destroy();
}
