/**
 * Git credentials of an org: SSH deploy keys made here (the public key is shown, the private key never leaves the
 * control plane) and HTTPS tokens (write-only), each with its own known_hosts. Changes are audited with metadata
 * only: names, types, fingerprints, never a key or token.
 */
import type { MasterKeys } from "../../_shared/master-keys.js";
import type { OpBody } from "../../_shared/rest.js";
import type { Principal, RequestInfo } from "../../_shared/principal.js";
import type { TenantScope } from "../../_shared/tenant.js";
import { UnprocessableError } from "../../_shared/errors.js";
import { actorOf, recordAudit } from "../../audit/index.js";
import {
  deleteGitCredential,
  getGitCredential,
  insertGitCredential,
  listGitCredentials,
  setKnownHosts,
  type GitCredential,
} from "./git-credentials.repo.js";
import { checkGitHost, type GitHostPolicy } from "./host-guard.js";
import {
  formatKnownHosts,
  knownHostName,
  parseKnownHosts,
  replaceHostKeys,
  scanHostKeys,
  type HostKey,
} from "./known-hosts.js";
import type { OrgFetchLimiter } from "./fetch-limiter.js";
import { generateEd25519KeyPair, openSshPublicKey, publicKeyBlob, sha256Fingerprint } from "./ssh-key.js";

export interface GitCredentialSettings {
  masterKeys: MasterKeys;
  hostPolicy: GitHostPolicy;
  limiter: OrgFetchLimiter;
}

const MAX_TOKEN_BYTES = 4096;
const DEFAULT_HTTPS_USERNAME = "x-access-token";

export function gitCredentialView(c: GitCredential) {
  return {
    id: c.id,
    name: c.name,
    type: c.kind,
    publicKey: c.publicKey,
    keyFingerprint: c.keyFingerprint,
    username: c.username,
    hostKeys: c.hostKeys.map((k) => ({ host: k.host, keyType: k.keyType, fingerprint: k.fingerprint })),
    createdBy: c.createdBy,
    createdAt: c.createdAt.toISOString(),
    updatedAt: c.updatedAt.toISOString(),
  };
}

export async function createGitCredential(
  scope: TenantScope,
  principal: Principal,
  body: OpBody<"createGitCredential">,
  settings: GitCredentialSettings,
  request: RequestInfo,
) {
  let input: { publicKey: string | null; keyFingerprint: string | null; username: string | null; secret: Buffer };
  if (body.type === "ssh") {
    const pair = generateEd25519KeyPair();
    input = {
      publicKey: openSshPublicKey(pair.publicKey, `stackyard-${body.name}`),
      keyFingerprint: sha256Fingerprint(publicKeyBlob(pair.publicKey)),
      username: null,
      secret: pair.seed,
    };
  } else {
    const secret = Buffer.from(body.token, "utf8");
    if (secret.length === 0 || secret.length > MAX_TOKEN_BYTES || /[\s\p{Cc}]/u.test(body.token)) {
      throw new UnprocessableError(
        "GIT_TOKEN_INVALID",
        `the token must be 1-${MAX_TOKEN_BYTES} bytes without spaces or control characters`,
      );
    }
    const username = body.username ?? DEFAULT_HTTPS_USERNAME;
    if (!/^[A-Za-z0-9._@+-]{1,100}$/.test(username)) {
      throw new UnprocessableError("GIT_USERNAME_INVALID", "the user name is 1-100 of A-Z a-z 0-9 . _ @ + -");
    }
    input = { publicKey: null, keyFingerprint: null, username, secret };
  }
  try {
    return await scope.transaction(async (tx) => {
      const credential = await insertGitCredential(
        tx,
        { name: body.name, kind: body.type, createdBy: principal.userId, ...input },
        settings.masterKeys,
      );
      await recordAudit(
        tx,
        {
          ...actorOf(principal),
          action: "git_credential.create",
          targetType: "git_credential",
          targetId: credential.id,
          data: { name: credential.name, type: credential.kind, keyFingerprint: credential.keyFingerprint },
        },
        request,
      );
      return gitCredentialView(credential);
    });
  } finally {
    input.secret.fill(0);
  }
}

export async function listGitCredentialViews(scope: TenantScope) {
  return { items: (await listGitCredentials(scope)).map(gitCredentialView) };
}

export async function getGitCredentialView(scope: TenantScope, id: string) {
  return gitCredentialView(await getGitCredential(scope, id));
}

export async function removeGitCredential(scope: TenantScope, principal: Principal, id: string, request: RequestInfo) {
  return scope.transaction(async (tx) => {
    const credential = await deleteGitCredential(tx, id);
    await recordAudit(
      tx,
      {
        ...actorOf(principal),
        action: "git_credential.delete",
        targetType: "git_credential",
        targetId: credential.id,
        data: { name: credential.name, type: credential.kind, keyFingerprint: credential.keyFingerprint },
      },
      request,
    );
    return gitCredentialView(credential);
  });
}

/** Stores the host's keys (replacing earlier ones of that host) and audits their fingerprints. */
export async function trustHostKeys(
  scope: TenantScope,
  principal: Principal,
  credentialId: string,
  host: string,
  keys: HostKey[],
  source: "pasted" | "first-use",
  request: RequestInfo,
): Promise<GitCredential> {
  return scope.transaction(async (tx) => {
    const current = await tx
      .from("git_credentials")
      .select<{ known_hosts: string; kind: string }[]>("known_hosts", "kind")
      .where({ id: credentialId })
      .forUpdate()
      .first();
    const existing = current ? parseKnownHosts(current.known_hosts) : [];
    const updated = await setKnownHosts(tx, credentialId, formatKnownHosts(replaceHostKeys(existing, host, keys)));
    await recordAudit(
      tx,
      {
        ...actorOf(principal),
        action: "git_credential.trust_host",
        targetType: "git_credential",
        targetId: credentialId,
        data: { host, source, fingerprints: keys.map((k) => k.fingerprint) },
      },
      request,
    );
    return updated;
  });
}

/**
 * `POST …/host-keys`: pasted keys are stored as given; without keys the host is scanned now (through the SSRF
 * guard) and the fetched keys are stored, their fingerprints returned for the user to compare.
 */
export async function addHostKeys(
  scope: TenantScope,
  principal: Principal,
  credentialId: string,
  body: OpBody<"addGitCredentialHostKeys">,
  settings: GitCredentialSettings,
  request: RequestInfo,
) {
  const credential = await getGitCredential(scope, credentialId);
  if (credential.kind !== "ssh") {
    throw new UnprocessableError("GIT_CREDENTIAL_NOT_SSH", "host keys belong to SSH credentials only");
  }
  const port = body.port ?? 22;
  const hostName = body.host.toLowerCase();
  if (!/^(?:[a-z0-9][a-z0-9.-]*|[0-9a-f:.]+)$/.test(hostName)) {
    throw new UnprocessableError("GIT_HOST_INVALID", "the host must be a DNS name or an IP address");
  }
  const alias = knownHostName(hostName, port);
  let keys: HostKey[];
  let source: "pasted" | "first-use";
  if (body.publicKeys !== undefined) {
    keys = parseKnownHosts(body.publicKeys, alias);
    if (keys.length === 0) throw new UnprocessableError("KNOWN_HOSTS_INVALID", "no host key given");
    source = "pasted";
  } else {
    keys = await settings.limiter.run(scope.orgId, async () => {
      const address = await checkGitHost(hostName, port, settings.hostPolicy);
      return scanHostKeys(address, port, alias);
    });
    source = "first-use";
  }
  return gitCredentialView(await trustHostKeys(scope, principal, credentialId, alias, keys, source, request));
}
