/**
 * The payload a board is installed from (layout fixed by the team; install.sh reads it):
 *   install.sh   bundle/   etc/agent.yaml   etc/mqtt-password (0600)
 *   etc/ca.pem and etc/release-key.pub when given; etc/client.pem and etc/client.key (0600) when issued (mutual TLS)
 * It is written into a staging folder beside its destination and renamed into place, so a destination holds a
 * whole payload or none.
 */
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERR, WacoflowError } from '../../platform/errors.ts';

export const INSTALL_SH = join(import.meta.dirname, 'install.sh');

export interface PayloadContent {
  bundle_dir: string;
  agent_yaml: string;
  secret: string;
  ca?: string;
  client_cert?: string;
  client_key?: string;
  release_key?: string;
}

/** True when `dir` already holds a wacoflow payload. */
export function isPayload(dir: string): boolean {
  return existsSync(join(dir, 'install.sh')) || existsSync(join(dir, 'etc', 'agent.yaml'));
}

/** Writes a complete payload into `dir` (which must not exist yet); returns the files written, relative. */
export function writePayload(dir: string, c: PayloadContent): string[] {
  mkdirSync(join(dir, 'etc'), { recursive: true });
  copyFileSync(INSTALL_SH, join(dir, 'install.sh'));
  chmodSync(join(dir, 'install.sh'), 0o755);
  cpSync(c.bundle_dir, join(dir, 'bundle'), { recursive: true });
  const written = ['install.sh', 'bundle/'];
  const put = (name: string, text: string, mode: number) => {
    writeFileSync(join(dir, 'etc', name), text, { mode });
    chmodSync(join(dir, 'etc', name), mode); // the mode option is masked by the umask
    written.push(`etc/${name}`);
  };
  put('agent.yaml', c.agent_yaml, 0o644);
  put('mqtt-password', `${c.secret}\n`, 0o600);
  if (c.ca) put('ca.pem', c.ca, 0o644);
  if (c.client_cert) put('client.pem', c.client_cert, 0o644);
  if (c.client_key) put('client.key', c.client_key, 0o600);
  if (c.release_key) put('release-key.pub', c.release_key, 0o644);
  return written;
}

/**
 * Refuses a destination that holds a payload (unless `force`) or anything else; `what` names the option.
 * An empty folder is fine.
 */
export function checkDestination(dir: string, force: boolean, what: string): void {
  if (!existsSync(dir)) return;
  if (isPayload(dir)) {
    if (!force) throw new WacoflowError(ERR.CONFIG, `${what}: ${dir} already holds a wacoflow payload (a board flashed before); give --force to replace it (the device gets a new secret)`);
    return;
  }
  if (readdirSync(dir).length > 0) throw new WacoflowError(ERR.CONFIG, `${what}: ${dir} is not empty and holds no wacoflow payload; give an empty or new folder`);
}

/** Writes the payload beside `dir` and renames it into place, replacing an older payload there. */
export function placePayload(dir: string, c: PayloadContent): string[] {
  const staged = `${dir}.wacoflow-tmp`;
  rmSync(staged, { recursive: true, force: true });
  try {
    const written = writePayload(staged, c);
    rmSync(dir, { recursive: true, force: true });
    renameSync(staged, dir);
    return written;
  } catch (err) {
    rmSync(staged, { recursive: true, force: true });
    throw err;
  }
}
