/**
 * Certificates of a cluster's ingress: listed with their expiry, uploaded (checked, key encrypted), or ordered
 * from the cluster's ACME directory with HTTP-01 — the control plane answers the challenge by rendering it into
 * the proxy's configuration (ingress_acme_challenges) — and renewed by the same order once they expire within
 * the renewal window. A new certificate reaches the proxy as a new Swarm secret in the same transaction that
 * stores it.
 */
import { readFileSync } from "node:fs";
import { Agent } from "node:https";
import { rootCertificates } from "node:tls";
import * as acme from "acme-client";
import type { Db } from "../_shared/db.js";
import { ConflictError, NotFoundError, UnprocessableError } from "../_shared/errors.js";
import type { MasterKeys } from "../_shared/master-keys.js";
import type { ActorType, Principal, RequestInfo } from "../_shared/principal.js";
import type { OpBody } from "../_shared/rest.js";
import { systemDb, systemScope, type TenantScope } from "../_shared/tenant.js";
import { actorOf, recordAudit } from "../audit/index.js";
import { decryptAtRest, encryptAtRest } from "../stacks/index.js";
import { certificateView, currentCertificates, storeCertificate } from "./certificates.repo.js";
import { applyIngress, lockClusterIngress, requireCluster, type IngressDeps } from "./ingress.logic.js";
import type { ClusterIngressRow } from "./routes.repo.js";

export interface AcmeDeps extends IngressDeps {
  acme: AcmeTrust;
  /** An ACME certificate is renewed once it expires within this. */
  renewBeforeSeconds: number;
}

/** The HTTPS agent acme-client talks to directories with: the system's CAs, plus a configured file's. */
export interface AcmeTrust {
  httpsAgent: Agent | null;
}

export function createAcmeTrust(caFile: string | null): AcmeTrust {
  if (!caFile) return { httpsAgent: null };
  return { httpsAgent: new Agent({ ca: [...rootCertificates, readFileSync(caFile, "utf8")], keepAlive: false }) };
}

interface Logger {
  info(obj: unknown): void;
  warn(obj: unknown): void;
}

const SYSTEM_ACTOR = { actorType: "system" as const, actorId: null };
const NO_REQUEST: RequestInfo = { ip: null, userAgent: null };

export async function listCertificates(scope: TenantScope, clusterId: string) {
  const cluster = await scope.from("clusters").where({ id: clusterId }).first("id");
  if (!cluster) throw new NotFoundError("CLUSTER_NOT_FOUND", "no such cluster");
  const [certs, tlsHosts] = await Promise.all([currentCertificates(scope, clusterId), httpsHosts(scope, clusterId)]);
  const have = new Set(certs.map((c) => c.host));
  return { items: certs.map(certificateView), missing: tlsHosts.filter((h) => !have.has(h)) };
}

async function httpsHosts(scope: TenantScope, clusterId: string): Promise<string[]> {
  const rows = (await scope
    .from("ingress_routes")
    .where({ cluster_id: clusterId, tls: true })
    .distinct("host")
    .orderBy("host")) as Array<{ host: string }>;
  return rows.map((r) => r.host);
}

export async function uploadCertificate(
  deps: IngressDeps,
  scope: TenantScope,
  principal: Principal,
  clusterId: string,
  input: OpBody<"uploadIngressCertificate">,
  request: RequestInfo,
) {
  await requireCluster(scope, clusterId);
  return scope.transaction(async (tx) => {
    const ingress = await lockClusterIngress(tx, clusterId);
    const row = await storeCertificate(tx, deps.masterKeys, {
      clusterId,
      host: input.host,
      source: "upload",
      chainPem: input.certificatePem,
      keyPem: input.privateKeyPem,
    });
    const applied = await applyIngress(deps, tx, ingress);
    await recordAudit(
      tx,
      {
        ...actorOf(principal),
        action: "ingress.certificate.upload",
        targetType: "cluster",
        targetId: clusterId,
        data: { host: row.host, serial: row.serial, notAfter: row.not_after, configName: applied.applied_config_name },
      },
      request,
    );
    return certificateView(row);
  });
}

/** The renew route: every HTTPS host of this cluster without a certificate, or whose ACME one is due. */
export async function renewClusterCertificates(
  deps: AcmeDeps,
  scope: TenantScope,
  principal: Principal,
  clusterId: string,
  request: RequestInfo,
) {
  await requireCluster(scope, clusterId);
  const ingress = (await scope.from("cluster_ingress").where({ cluster_id: clusterId }).first()) as
    ClusterIngressRow | undefined;
  if (!ingress) throw new ConflictError("INGRESS_NOT_ENABLED", "the cluster has no managed ingress");
  if (!ingress.acme_directory_url) {
    throw new ConflictError("ACME_NOT_CONFIGURED", "the cluster's ingress has no ACME directory URL");
  }
  const due = await dueHosts(scope, clusterId, deps.renewBeforeSeconds);
  const issued = [];
  const failed = [];
  for (const host of due) {
    try {
      issued.push(await orderCertificate(deps, scope, ingress, host, { ...actorOf(principal), request }));
    } catch (err) {
      failed.push(orderFailure(host, err));
    }
  }
  return { issued, failed };
}

/** The renewal loop's pass over every cluster with an ACME directory. */
export async function renewDueCertificates(deps: AcmeDeps, db: Db, log: Logger): Promise<void> {
  const clusters = (await systemDb(
    db,
    "ingress",
  )("cluster_ingress").whereNotNull("acme_directory_url")) as ClusterIngressRow[];
  for (const ingress of clusters) {
    const scope = systemScope(db, ingress.org_id, "ingress");
    for (const host of await dueHosts(scope, ingress.cluster_id, deps.renewBeforeSeconds)) {
      try {
        const cert = await orderCertificate(deps, scope, ingress, host, { ...SYSTEM_ACTOR, request: NO_REQUEST });
        log.info({ msg: "certificate issued", clusterId: ingress.cluster_id, host, notAfter: cert.notAfter });
      } catch (err) {
        log.warn({ msg: "certificate order failed", clusterId: ingress.cluster_id, ...orderFailure(host, err) });
      }
    }
  }
}

async function dueHosts(scope: TenantScope, clusterId: string, renewBeforeSeconds: number): Promise<string[]> {
  const [hosts, certs] = await Promise.all([httpsHosts(scope, clusterId), currentCertificates(scope, clusterId)]);
  const renewAt = Date.now() + renewBeforeSeconds * 1000;
  return hosts.filter((host) => {
    const cert = certs.find((c) => c.host === host);
    if (!cert) return true;
    return cert.source === "acme" && new Date(cert.not_after).getTime() <= renewAt;
  });
}

function orderFailure(host: string, err: unknown): { host: string; code: string; message: string } {
  const e = err as { type?: unknown; code?: unknown; agentCode?: unknown; message?: unknown };
  const code =
    typeof e.agentCode === "string"
      ? e.agentCode
      : typeof e.type === "string" && e.type.length < 64
        ? e.type
        : "ACME_ORDER_FAILED";
  const message = typeof e.message === "string" ? e.message.slice(0, 500) : "the order failed";
  return { host, code, message };
}

/**
 * One ACME order for one host: the account (made once per directory), a fresh key and CSR, the HTTP-01
 * challenge answered through the proxy, then the certificate stored and delivered.
 */
async function orderCertificate(
  deps: AcmeDeps,
  scope: TenantScope,
  ingress: ClusterIngressRow,
  host: string,
  actor: { actorType: ActorType; actorId: string | null; request: RequestInfo },
) {
  const directoryUrl = ingress.acme_directory_url!;
  const account = await acmeAccount(scope.db as Db, deps.masterKeys, directoryUrl);
  if (deps.acme.httpsAgent) acme.axios.defaults.httpsAgent = deps.acme.httpsAgent;
  const client = new acme.Client({
    directoryUrl,
    accountKey: account.key,
    ...(account.url ? { accountUrl: account.url } : {}),
  });
  const [key, csr] = await acme.crypto.createCsr({ commonName: host, altNames: [host] });
  const clusterId = ingress.cluster_id;
  const chain = await client.auto({
    csr,
    termsOfServiceAgreed: true,
    ...(ingress.acme_email ? { email: ingress.acme_email } : {}),
    challengePriority: ["http-01"],
    // The directory checks the answer itself; the control plane may not reach the proxy's public address.
    skipChallengeVerification: true,
    challengeCreateFn: async (_authz, challenge, keyAuthorization) => {
      if (challenge.type !== "http-01") throw new UnprocessableError("ACME_CHALLENGE_UNSUPPORTED", challenge.type);
      await scope.transaction(async (tx) => {
        const row = await lockClusterIngress(tx, clusterId);
        await tx
          .insert("ingress_acme_challenges", {
            token: challenge.token,
            cluster_id: clusterId,
            host,
            key_authorization: keyAuthorization,
          })
          .onConflict("token")
          .merge();
        await applyIngress(deps, tx, row);
      });
    },
    challengeRemoveFn: async (_authz, challenge) => {
      // Left out of the proxy's configuration at its next apply (the one that delivers the certificate).
      await scope.from("ingress_acme_challenges").where({ token: challenge.token }).delete();
    },
  });
  if (!account.url) await saveAccountUrl(scope.db as Db, directoryUrl, client.getAccountUrl());
  return scope.transaction(async (tx) => {
    const row = await lockClusterIngress(tx, clusterId);
    const stored = await storeCertificate(tx, deps.masterKeys, {
      clusterId,
      host,
      source: "acme",
      chainPem: chain,
      keyPem: key.toString("utf8"),
    });
    const applied = await applyIngress(deps, tx, row);
    await recordAudit(
      tx,
      {
        actorType: actor.actorType,
        actorId: actor.actorId,
        action: "ingress.certificate.issue",
        targetType: "cluster",
        targetId: clusterId,
        data: { host, serial: stored.serial, notAfter: stored.not_after, configName: applied.applied_config_name },
      },
      actor.request,
    );
    return certificateView(stored);
  });
}

function accountAad(directoryUrl: string): Buffer {
  return Buffer.from(JSON.stringify(["stackyard.acme-account.v1", directoryUrl]));
}

/** The control plane's account key for a directory, made (and stored encrypted) on first use. */
async function acmeAccount(
  db: Db,
  keys: MasterKeys,
  directoryUrl: string,
): Promise<{ key: Buffer; url: string | null }> {
  const all = systemDb(db, "ingress");
  const existing = (await all("acme_accounts").where({ directory_url: directoryUrl }).first()) as
    | { key_ciphertext: Buffer; key_nonce: Buffer; key_auth_tag: Buffer; key_id: string; account_url: string | null }
    | undefined;
  if (existing) {
    const key = decryptAtRest(
      keys,
      {
        ciphertext: existing.key_ciphertext,
        nonce: existing.key_nonce,
        authTag: existing.key_auth_tag,
        keyId: existing.key_id,
      },
      accountAad(directoryUrl),
    );
    return { key, url: existing.account_url };
  }
  const key = await acme.crypto.createPrivateKey();
  const sealed = encryptAtRest(keys, key, accountAad(directoryUrl));
  await all("acme_accounts")
    .insert({
      directory_url: directoryUrl,
      key_ciphertext: sealed.ciphertext,
      key_nonce: sealed.nonce,
      key_auth_tag: sealed.authTag,
      key_id: sealed.keyId,
    })
    .onConflict("directory_url")
    .ignore();
  // Another replica may have won the insert: use whichever key is stored.
  return acmeAccount(db, keys, directoryUrl);
}

async function saveAccountUrl(db: Db, directoryUrl: string, url: string): Promise<void> {
  await systemDb(db, "ingress")("acme_accounts").where({ directory_url: directoryUrl }).update({ account_url: url });
}
