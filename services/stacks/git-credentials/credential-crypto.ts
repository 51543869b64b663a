/**
 * Git credential material at rest: AES-256-GCM under CONTROLPLANE_MASTER_KEY, the same scheme as environment
 * secrets (services/stacks/secrets-crypto.ts), with its own additional authenticated data binding a ciphertext to
 * its org and credential row, so a row copied over another fails to decrypt.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import type { MasterKeys } from "../../_shared/master-keys.js";
import {
  GCM_NONCE_BYTES,
  GCM_TAG_BYTES,
  SecretDecryptionError,
  UnknownMasterKeyError,
  type EncryptedSecret,
} from "../secrets-crypto.js";

export interface CredentialIdentity {
  orgId: string;
  credentialId: string;
}

function aadOf(identity: CredentialIdentity): Buffer {
  return Buffer.from(JSON.stringify(["stackyard.git-credential.v1", identity.orgId, identity.credentialId]));
}

export function encryptCredential(keys: MasterKeys, plaintext: Buffer, identity: CredentialIdentity): EncryptedSecret {
  const key = keys.keys.get(keys.activeKeyId);
  if (!key) throw new UnknownMasterKeyError(keys.activeKeyId);
  const nonce = randomBytes(GCM_NONCE_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, nonce, { authTagLength: GCM_TAG_BYTES });
  cipher.setAAD(aadOf(identity));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { ciphertext, nonce, authTag: cipher.getAuthTag(), keyId: keys.activeKeyId };
}

export function decryptCredential(keys: MasterKeys, record: EncryptedSecret, identity: CredentialIdentity): Buffer {
  const key = keys.keys.get(record.keyId);
  if (!key) throw new UnknownMasterKeyError(record.keyId);
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, record.nonce, { authTagLength: GCM_TAG_BYTES });
    decipher.setAAD(aadOf(identity));
    decipher.setAuthTag(record.authTag);
    return Buffer.concat([decipher.update(record.ciphertext), decipher.final()]);
  } catch (err) {
    throw new SecretDecryptionError(record.keyId, { cause: err });
  }
}
