/**
 * Release keys and signing, for the operator's workstation (never a board): `wacoflow release keygen` and
 * `wacoflow release sign`. The private key is written 0600 and is needed only to sign.
 */
import { createPrivateKey, generateKeyPairSync, sign } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERR, WacoflowError } from '../../platform/errors.ts';
import { readManifest, readManifestBytes, SIGNATURE_FILE, verifyFiles } from '../../edge-agent/update/manifest.ts';

export const PRIVATE_KEY_FILE = 'release-key.pem';
export const PUBLIC_KEY_FILE = 'release-key.pub';

export function generateReleaseKeys(dir: string, force = false): { privateKey: string; publicKey: string } {
  const privateKey = join(dir, PRIVATE_KEY_FILE);
  const publicKey = join(dir, PUBLIC_KEY_FILE);
  if (!force && (existsSync(privateKey) || existsSync(publicKey))) {
    throw new WacoflowError(ERR.CONFIG, `${dir} already holds a release key; boards trust it, so replacing it means reflashing them. Give --force if that is what you want`);
  }
  mkdirSync(dir, { recursive: true });
  const pair = generateKeyPairSync('ed25519');
  writeFileSync(privateKey, pair.privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
  writeFileSync(publicKey, pair.publicKey.export({ format: 'pem', type: 'spki' }));
  return { privateKey, publicKey };
}

/**
 * Signs a built bundle: checks first that its files match its manifest (a bundle changed after it was built is
 * not signed), then writes manifest.sig.
 */
export async function signBundle(dir: string, privateKeyFile: string): Promise<{ version: string; arch: string }> {
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(readFileSync(privateKeyFile));
  } catch (err) {
    throw new WacoflowError(ERR.CONFIG, `--key ${privateKeyFile}: cannot read an Ed25519 private key (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); 'wacoflow release keygen' makes one`, { cause: err });
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new WacoflowError(ERR.CONFIG, `--key ${privateKeyFile}: a ${key.asymmetricKeyType} key; release keys are Ed25519`);
  const manifest = readManifest(dir);
  const problems = await verifyFiles(dir, manifest);
  if (problems.length > 0) throw new WacoflowError(ERR.CONFIG, `${dir}: the bundle does not match its manifest, not signing it:\n  ${problems.join('\n  ')}`);
  writeFileSync(join(dir, SIGNATURE_FILE), `${sign(null, readManifestBytes(dir), key).toString('base64')}\n`);
  return { version: manifest.version, arch: manifest.arch };
}
