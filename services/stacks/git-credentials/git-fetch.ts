/**
 * A git release's fetch with its guard rails: the org's fetch slot, the SSRF check of the host (git is pinned to
 * the checked address), the chosen credential decrypted for this run only, and trust on first use of an SSH host
 * (the scanned key's fingerprint stored on the credential and audited, shown on the credentials page).
 */
import { UnprocessableError } from "../../_shared/errors.js";
import type { Principal, RequestInfo } from "../../_shared/principal.js";
import type { TenantScope } from "../../_shared/tenant.js";
import {
  checkRepoUrl,
  repoLocation,
  resolveGitSource,
  type GitConnection,
  type GitSourceInput,
  type GitSourceOptions,
  type GitSourceResult,
} from "../git-source.js";
import { loadGitCredentialSecret, type GitCredentialSecret } from "./git-credentials.repo.js";
import { trustHostKeys, type GitCredentialSettings } from "./git-credentials.logic.js";
import { checkGitHost } from "./host-guard.js";
import { knownHostName, scanHostKeys } from "./known-hosts.js";
import { openSshPrivateKey } from "./ssh-key.js";

export interface GitReleaseSource extends GitSourceInput {
  credentialId?: string;
}

export async function fetchGitReleaseSource(
  scope: TenantScope,
  /** Null for auto-sync (no caller): an SSH host key must then be trusted already, never on first use. */
  principal: Principal | null,
  source: GitReleaseSource,
  options: Omit<GitSourceOptions, "connection">,
  settings: GitCredentialSettings,
  request: RequestInfo,
): Promise<GitSourceResult> {
  const scheme = checkRepoUrl(source.repoUrl, options.allowedSchemes);
  const input: GitSourceInput = { repoUrl: source.repoUrl, ref: source.ref, path: source.path };
  return settings.limiter.run(scope.orgId, async () => {
    const connection = await prepareGitConnection(scope, principal, source, scheme, settings, request);
    return resolveGitSource(input, { ...options, ...(connection ? { connection } : {}) });
  });
}

/**
 * How git reaches a repository for this org: the SSRF-checked address and the credential decrypted (null for a
 * file:// repository, which takes none). Also what a build's agent receives, sealed (services/deployments/builds).
 */
export async function prepareGitConnection(
  scope: TenantScope,
  principal: Principal | null,
  source: GitReleaseSource,
  scheme: ReturnType<typeof checkRepoUrl>,
  settings: GitCredentialSettings,
  request: RequestInfo,
): Promise<GitConnection | null> {
  let credential: GitCredentialSecret | undefined;
  try {
    if (source.credentialId !== undefined) {
      credential = await loadGitCredentialSecret(scope, source.credentialId, settings.masterKeys);
    }
    if (scheme === "file") {
      if (credential) throw mismatch("a file:// repository takes no credential");
      return null;
    }
    const { host, port } = repoLocation(source.repoUrl, scheme);
    const address = await checkGitHost(host, port, settings.hostPolicy);
    const connection: GitConnection = { address };
    if (scheme === "ssh") {
      if (!credential) {
        throw new UnprocessableError(
          "GIT_CREDENTIAL_REQUIRED",
          "an ssh:// repository needs an SSH git credential (a deploy key)",
        );
      }
      if (credential.kind !== "ssh") throw mismatch("an ssh:// repository needs an SSH credential, not a token");
      const alias = knownHostName(host, port);
      let knownHosts = credential.knownHosts;
      if (!credential.hostKeys.some((k) => k.host === alias)) {
        if (principal === null) {
          throw new UnprocessableError(
            "GIT_HOST_KEY_UNKNOWN",
            `no SSH host key of ${alias} is trusted on the credential; fetch once by hand (or trust the key) first`,
            { host: alias },
          );
        }
        const keys = await scanHostKeys(address, port, alias);
        const trusted = await trustHostKeys(scope, principal, credential.id, alias, keys, "first-use", request);
        knownHosts = trusted.hostKeys.map((k) => `${k.host} ${k.keyType} ${k.key}\n`).join("");
      }
      connection.ssh = {
        privateKey: openSshPrivateKey(credential.secret, `stackyard-${credential.name}`),
        knownHosts,
        hostKeyAlias: alias,
      };
    } else if (credential) {
      if (credential.kind !== "https") throw mismatch("an https:// repository needs a token, not an SSH key");
      if (scheme !== "https") throw mismatch("a token is only sent over https://");
      connection.https = { username: credential.username ?? "", token: credential.secret.toString("utf8") };
    }
    return connection;
  } finally {
    credential?.secret.fill(0);
  }
}

function mismatch(message: string): UnprocessableError {
  return new UnprocessableError("GIT_CREDENTIAL_MISMATCH", message);
}
