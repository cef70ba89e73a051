/**
 * Release signatures: Ed25519 over the manifest's exact bytes (node:crypto, no dependency). The signature file
 * holds the base64 signature on one line. Boards hold only the public key.
 */
import { createPublicKey, verify } from 'node:crypto';
import { ERR, WacoflowError } from '../../platform/errors.ts';

export function publicKeyFromPem(pem: string, where: string): ReturnType<typeof createPublicKey> {
  let key: ReturnType<typeof createPublicKey>;
  try {
    key = createPublicKey(pem);
  } catch (err) {
    throw new WacoflowError(ERR.CONFIG, `${where}: not a PEM public key (${(err as Error).message}); use the release-key.pub that 'wacoflow release keygen' wrote`, { cause: err });
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new WacoflowError(ERR.CONFIG, `${where}: a ${key.asymmetricKeyType} key; release keys are Ed25519`);
  return key;
}

/** Whether `signature` (the signature file's text) is the key's signature of `manifest`. */
export function verifyManifestSignature(manifest: Buffer, signature: string, key: ReturnType<typeof createPublicKey>): boolean {
  const sig = Buffer.from(signature.trim(), 'base64');
  if (sig.length !== 64) return false;
  return verify(null, manifest, key, sig);
}
