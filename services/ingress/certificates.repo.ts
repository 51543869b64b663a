/**
 * The ingress's certificates at rest: the chain in the clear (it is public), the private key AES-256-GCM under
 * the master key, bound to its org, cluster, host and row. One current certificate per host; storing a new one
 * marks the previous replaced in the same transaction.
 */
import { randomUUID, X509Certificate, createPrivateKey } from "node:crypto";
import { UnprocessableError } from "../_shared/errors.js";
import type { MasterKeys } from "../_shared/master-keys.js";
import type { TenantScope } from "../_shared/tenant.js";
import { decryptAtRest, encryptAtRest } from "../stacks/index.js";

export interface CertificateRow {
  id: string;
  org_id: string;
  cluster_id: string;
  host: string;
  source: "acme" | "upload";
  certificate_pem: string;
  key_ciphertext: Buffer;
  key_nonce: Buffer;
  key_auth_tag: Buffer;
  key_id: string;
  serial: string;
  issuer: string;
  not_before: Date;
  not_after: Date;
  created_at: Date;
  replaced_at: Date | null;
}

function aad(row: Pick<CertificateRow, "org_id" | "cluster_id" | "host" | "id">): Buffer {
  return Buffer.from(
    JSON.stringify(["stackyard.ingress-certificate.v1", row.org_id, row.cluster_id, row.host, row.id]),
  );
}

export function certificateView(r: CertificateRow) {
  return {
    id: r.id,
    host: r.host,
    source: r.source,
    serial: r.serial,
    issuer: r.issuer,
    notBefore: new Date(r.not_before).toISOString(),
    notAfter: new Date(r.not_after).toISOString(),
    createdAt: new Date(r.created_at).toISOString(),
  };
}

export async function currentCertificates(scope: TenantScope, clusterId: string): Promise<CertificateRow[]> {
  return (await scope
    .from("ingress_certificates")
    .where({ cluster_id: clusterId })
    .whereNull("replaced_at")
    .orderBy("host")
    .select("*")) as unknown as CertificateRow[];
}

export function certificateKeyPem(keys: MasterKeys, row: CertificateRow): string {
  return decryptAtRest(
    keys,
    { ciphertext: row.key_ciphertext, nonce: row.key_nonce, authTag: row.key_auth_tag, keyId: row.key_id },
    aad(row),
  ).toString("utf8");
}

export interface ParsedCertificate {
  serial: string;
  issuer: string;
  notBefore: Date;
  notAfter: Date;
}

/**
 * Checks a chain and its key before anything is stored: the leaf parses, is valid now, names the host, and
 * belongs to the key. The key never appears in an error.
 */
export function checkCertificate(host: string, chainPem: string, keyPem: string, now = new Date()): ParsedCertificate {
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(chainPem);
  } catch {
    throw new UnprocessableError("CERTIFICATE_INVALID", "the certificate is not a PEM X.509 certificate");
  }
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    throw new UnprocessableError("CERTIFICATE_INVALID", "the private key is not a PEM private key");
  }
  if (!leaf.checkPrivateKey(key)) {
    throw new UnprocessableError("CERTIFICATE_INVALID", "the private key does not belong to the certificate");
  }
  if (leaf.checkHost(host) === undefined) {
    throw new UnprocessableError("CERTIFICATE_INVALID", `the certificate does not name ${host}`);
  }
  const notBefore = new Date(leaf.validFrom);
  const notAfter = new Date(leaf.validTo);
  if (notAfter <= now || notBefore > now) {
    throw new UnprocessableError(
      "CERTIFICATE_INVALID",
      `the certificate is not valid now (${leaf.validFrom} – ${leaf.validTo})`,
    );
  }
  return { serial: leaf.serialNumber, issuer: leaf.issuer.replace(/\n/g, ", "), notBefore, notAfter };
}

/** Stores a checked certificate as the host's current one (the previous one is marked replaced). */
export async function storeCertificate(
  tx: TenantScope,
  keys: MasterKeys,
  input: { clusterId: string; host: string; source: "acme" | "upload"; chainPem: string; keyPem: string },
): Promise<CertificateRow> {
  const parsed = checkCertificate(input.host, input.chainPem, input.keyPem);
  const id = randomUUID();
  const sealedKey = encryptAtRest(
    keys,
    input.keyPem,
    aad({ id, org_id: tx.orgId, cluster_id: input.clusterId, host: input.host }),
  );
  await tx
    .from("ingress_certificates")
    .where({ cluster_id: input.clusterId, host: input.host })
    .whereNull("replaced_at")
    .update({ replaced_at: tx.db.fn.now() });
  const [row] = (await tx
    .insert("ingress_certificates", {
      id,
      cluster_id: input.clusterId,
      host: input.host,
      source: input.source,
      certificate_pem: input.chainPem.trim(),
      key_ciphertext: sealedKey.ciphertext,
      key_nonce: sealedKey.nonce,
      key_auth_tag: sealedKey.authTag,
      key_id: sealedKey.keyId,
      serial: parsed.serial,
      issuer: parsed.issuer,
      not_before: parsed.notBefore,
      not_after: parsed.notAfter,
    })
    .returning("*")) as CertificateRow[];
  return row!;
}
