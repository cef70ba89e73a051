/**
 * A board's client key and certificate for a gateway that requires mutual TLS: the gateway accepts a device only
 * if its certificate's CN is the device id (gateway/tls.test.ts), signed by the CA it trusts. The key is made on
 * this machine and travels in the payload; openssl does the X.509 work, as node:crypto cannot sign certificates.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ERR, WacoflowError } from '../../platform/errors.ts';

const run = promisify(execFile);

export interface ClientCert {
  cert: string;
  key: string;
}

async function openssl(args: string[], cwd: string, what: string): Promise<void> {
  try {
    await run('openssl', args, { cwd });
  } catch (err) {
    const e = err as { code?: string; stderr?: string };
    if (e.code === 'ENOENT') throw new WacoflowError(ERR.CONFIG, `${what}: openssl is not installed (apt-get install openssl)`);
    throw new WacoflowError(ERR.CONFIG, `${what}: openssl failed: ${(e.stderr ?? String(err)).trim().split('\n')[0]}`);
  }
}

/** Issues a key and a certificate with CN=deviceId, for client authentication, signed by the given CA. */
export async function issueClientCert(o: { device_id: string; ca_cert: string; ca_key: string; days?: number }): Promise<ClientCert> {
  const dir = mkdtempSync(join(tmpdir(), 'wacoflow-cert-'));
  try {
    const what = `--device-ca-cert ${o.ca_cert} / --device-ca-key ${o.ca_key}`;
    // The CA's key and certificate must be a pair, or the gateway would refuse every certificate issued here.
    const pub = async (args: string[]) => (await run('openssl', args)).stdout;
    const [caPub, keyPub] = await Promise.all([
      pub(['x509', '-in', o.ca_cert, '-noout', '-pubkey']).catch(() => null),
      pub(['pkey', '-in', o.ca_key, '-pubout']).catch(() => null),
    ]);
    if (caPub === null) throw new WacoflowError(ERR.CONFIG, `--device-ca-cert ${o.ca_cert}: not a readable PEM certificate`);
    if (keyPub === null) throw new WacoflowError(ERR.CONFIG, `--device-ca-key ${o.ca_key}: not a readable PEM private key (an encrypted key is not supported)`);
    if (caPub.trim() !== keyPub.trim()) throw new WacoflowError(ERR.CONFIG, `${what}: the key does not belong to the certificate; give the CA's own key`);
    writeFileSync(join(dir, 'client.ext'), 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n');
    await openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', '-subj', `/CN=${o.device_id}`], dir, what);
    await openssl(['x509', '-req', '-in', 'client.csr', '-CA', o.ca_cert, '-CAkey', o.ca_key, '-CAcreateserial', '-CAserial', join(dir, 'ca.srl'), '-out', 'client.pem', '-days', String(o.days ?? 3650), '-extfile', 'client.ext'], dir, what);
    return { cert: readFileSync(join(dir, 'client.pem'), 'utf8'), key: readFileSync(join(dir, 'client.key'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
