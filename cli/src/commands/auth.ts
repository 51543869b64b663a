/** login, logout, whoami, orgs. */
import { ApiError } from "../../../web/src/api/client.js";
import type { LoginResult, Me, MfaChallenge } from "../../../web/src/api/types.js";
import type { Command } from "../command.js";
import { stringOption } from "../command.js";
import { CliError, EXIT, UsageError } from "../exit-codes.js";
import { print } from "../output.js";
import { isUuid, Session } from "../session.js";
import { readLine, readPassword } from "../prompt.js";

interface OrgChoice {
  id: string;
  name: string;
}

async function passwordLogin(
  session: Session,
  email: string,
  password: string,
  org: string | undefined,
  askCode: () => Promise<string>,
) {
  const attempt = (orgId?: string) =>
    session.client.login({ email, password, ...(orgId ? { orgId } : {}) }) as Promise<LoginResult>;
  try {
    return await withSecondStep(session, askCode, () => attempt(org && isUuid(org) ? org : undefined));
  } catch (err) {
    if (!(err instanceof ApiError) || err.code !== "ORG_SELECTION_REQUIRED") throw err;
    const orgs = ((err.details as { orgs?: OrgChoice[] } | undefined)?.orgs ?? []) as OrgChoice[];
    const chosen = orgs.find((o) => o.id === org || o.name === org);
    if (chosen) return withSecondStep(session, askCode, () => attempt(chosen.id));
    throw new CliError(
      EXIT.API_REFUSED,
      `this email has accounts in several organizations; choose one with --org:\n${orgs
        .map((o) => `  ${o.name}  (${o.id})`)
        .join("\n")}`,
    );
  }
}

/**
 * The MFA step of a login: MFA_REQUIRED asks for a code (TOTP or recovery code) and completes the login with the
 * challenge; MFA_ENROLLMENT_REQUIRED cannot be done here (the secret is shown by the web UI's login once).
 */
async function withSecondStep(
  session: Session,
  askCode: () => Promise<string>,
  passwordStep: () => Promise<LoginResult>,
): Promise<LoginResult> {
  try {
    return await passwordStep();
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    if (err.code === "MFA_ENROLLMENT_REQUIRED") {
      throw new CliError(
        EXIT.NOT_AUTHENTICATED,
        "your organization requires MFA and this account has none yet: log in once in the web UI to set it up (or use an API token)",
      );
    }
    const challengeToken = (err.details as Partial<MfaChallenge> | undefined)?.challengeToken;
    if (err.code !== "MFA_REQUIRED" || typeof challengeToken !== "string") throw err;
    const code = (await askCode()).trim();
    if (!code) throw new UsageError("an empty MFA code");
    return session.client.loginWithCode({ challengeToken, code });
  }
}

export const authCommands: Command[] = [
  {
    words: ["login"],
    args: [],
    summary: "log in with a password (asked, or from stdin) or an API token; saved in the config file (0600)",
    options: {
      email: { type: "string", value: "<email>", help: "the account's email" },
      "password-stdin": { type: "boolean", help: "read the password from stdin (for scripts)" },
      "mfa-code": {
        type: "string",
        value: "<code>",
        help: "the MFA code (6 digits, or a recovery code) when MFA is on; asked on the terminal otherwise",
      },
      token: { type: "string", value: "<token>", help: "an API token instead of a password (or STACKYARD_TOKEN)" },
    },
    async run(session, inv) {
      const token = stringOption(inv, "token");
      if (token !== undefined) {
        const probe = new Session({ ...session.options, env: { ...session.options.env, STACKYARD_TOKEN: token } });
        const me = await probe.whoami();
        session.saveConfig({ url: session.url, token, orgId: me.org.id, refreshToken: undefined });
        session.term.err(`logged in to ${session.url} as token ${me.tokenId ?? ""} of org ${me.org.name}\n`);
        return;
      }
      const email = stringOption(inv, "email");
      if (!email) throw new UsageError("login needs --email <email> (or --token <token>)");
      const password = inv.values["password-stdin"]
        ? (await inv.stdin()).toString("utf8").replace(/\r?\n$/, "")
        : await readPassword(`password for ${email}: `);
      if (!password) throw new UsageError("an empty password");
      // A password login replaces any saved token; the client saves the refresh token as it rotates.
      session.saveConfig({ url: session.url, token: undefined, refreshToken: undefined, orgId: undefined });
      const fresh = new Session({ ...session.options, env: { ...session.options.env, STACKYARD_TOKEN: "" } });
      const given = stringOption(inv, "mfa-code");
      const askCode = () =>
        given !== undefined ? Promise.resolve(given) : readLine("MFA code (or a recovery code): ");
      const result = await passwordLogin(fresh, email, password, session.options.org, askCode);
      fresh.saveConfig({ orgId: result.user.orgId });
      session.term.err(`logged in to ${session.url} as ${result.user.email} (${result.user.role})\n`);
    },
  },
  {
    words: ["logout"],
    args: [],
    summary: "end the session and forget the saved credential",
    async run(session) {
      if (session.config.refreshToken) {
        // A fresh process holds no access token yet: get one, so the logout reaches the server and ends the session.
        await session.whoami().catch(() => undefined);
        await session.client.logout();
      }
      session.saveConfig({ token: undefined, refreshToken: undefined, orgId: undefined });
      session.term.err("logged out\n");
    },
  },
  {
    words: ["whoami"],
    args: [],
    summary: "who the saved credential is, in which org, with which permissions",
    async run(session) {
      const me: Me = await session.whoami();
      print(session.term, session.format, me, {
        fields: [
          ["url", session.url],
          ["org", `${me.org.name} (${me.org.id})`],
          ["actor", me.actorType === "token" ? `token ${me.tokenId}` : me.user.email],
          ["role", me.role],
          ["permissions", me.permissions.join(", ")],
        ],
      });
    },
  },
  {
    words: ["orgs"],
    args: [],
    summary: "the organizations this credential can act in",
    async run(session) {
      const me = await session.whoami();
      print(session.term, session.format, me.orgs, {
        rows: me.orgs,
        columns: [
          { header: "ID", value: (o) => o.id },
          { header: "NAME", value: (o) => o.name },
          { header: "ROLE", value: (o) => o.role },
          { header: "CURRENT", value: (o) => (o.id === me.org.id ? "*" : "") },
        ],
      });
    },
  },
];
