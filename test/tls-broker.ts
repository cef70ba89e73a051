/**
 * A throw-away CA, server and client certificates (openssl) and a Mosquitto with a TLS listener on a free
 * port, for tests of mqtts:// clients. Needs openssl and mosquitto (CI has both).
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.ts';

export function tlsToolsAvailable(): boolean {
  return ['/usr/bin/openssl'].some(existsSync) && ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].some(existsSync);
}

export interface TlsBroker {
  url: string;
  ca: string;
  client_cert: string;
  client_key: string;
  dir: string;
  stop(): void;
}

export interface TestCerts {
  dir: string;
  ca: string;
  server_cert: string;
  server_key: string;
  client_cert: string;
  client_key: string;
}

/** A throw-away CA with a server certificate for 127.0.0.1 and a client certificate whose CN is `client_cn`. */
export function makeCerts(client_cn = 'agent-tls'): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'wacoflow-tls-'));
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=wacoflow-test-ca');
  for (const [name, cn] of [['server', '127.0.0.1'], ['client', client_cn]] as const) {
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    writeFileSync(join(dir, `${name}.ext`), name === 'server' ? 'subjectAltName=IP:127.0.0.1\n' : 'extendedKeyUsage=clientAuth\n');
    ssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`);
  }
  return {
    dir, ca: join(dir, 'ca.pem'), server_cert: join(dir, 'server.pem'), server_key: join(dir, 'server.key'),
    client_cert: join(dir, 'client.pem'), client_key: join(dir, 'client.key'),
  };
}

export async function startTlsBroker(opts: { require_client_cert: boolean }): Promise<TlsBroker> {
  const { dir } = makeCerts();
  // Mosquitto started as root drops to its own user, which must be able to read these throw-away files.
  chmodSync(dir, 0o755);
  for (const f of readdirSync(dir)) chmodSync(join(dir, f), 0o644);
  const port = await freePort();
  writeFileSync(join(dir, 'mosquitto.conf'), [
    `listener ${port} 127.0.0.1`, 'allow_anonymous true', `cafile ${join(dir, 'ca.pem')}`, `certfile ${join(dir, 'server.pem')}`,
    `keyfile ${join(dir, 'server.key')}`, `require_certificate ${opts.require_client_cert}`, 'persistence false', '',
  ].join('\n'));
  const child = spawn('mosquitto', ['-c', join(dir, 'mosquitto.conf')], { stdio: 'ignore' });
  const deadline = Date.now() + 5_000;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const s = createConnection({ port, host: '127.0.0.1' });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (open) break;
    if (Date.now() > deadline || child.exitCode !== null) throw new Error('mosquitto did not open its TLS listener');
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `mqtts://127.0.0.1:${port}`, dir,
    ca: join(dir, 'ca.pem'), client_cert: join(dir, 'client.pem'), client_key: join(dir, 'client.key'),
    stop: () => child.kill('SIGTERM'),
  };
}
