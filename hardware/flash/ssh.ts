/**
 * Installing a payload on a running board over SSH: one `ssh` to make a private temporary folder there (and to
 * see whether the board was provisioned before and has rsync), `rsync` (when both ends have it) or `scp -r` to
 * copy the payload into it, and one `ssh` that runs `sudo sh install.sh` and removes the folder whatever happens.
 * The commands are built by pure functions (tested as such) and run by `runSteps`.
 */
import { spawn } from 'node:child_process';
import { ERR, WacoflowError } from '../../platform/errors.ts';

export interface SshTarget {
  /** user@host */
  dest: string;
  port?: number;
  identity?: string;
  /** Extra `-o` options, as `Key=value`. */
  options: string[];
  /** install.sh --root (default /). */
  root?: string;
  /** Let ssh ask for passwords (a terminal is attached); otherwise BatchMode fails at once instead of hanging. */
  interactive: boolean;
}

export interface Step {
  what: string;
  cmd: string;
  args: string[];
}

/** POSIX shell quoting for the remote command line. */
export function shq(s: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export function parseDest(dest: string): { user: string; host: string } {
  const m = /^([A-Za-z0-9._-]+)@([A-Za-z0-9._:[\]-]+)$/.exec(dest);
  if (!m) throw new WacoflowError(ERR.CONFIG, `--ssh ${dest}: give the board as USER@HOST, for example --ssh pi@10.0.0.21`);
  return { user: m[1]!, host: m[2]! };
}

function sshOptions(t: SshTarget, portFlag: '-p' | '-P'): string[] {
  const o: string[] = [];
  if (t.port) o.push(portFlag, String(t.port));
  if (t.identity) o.push('-i', t.identity);
  if (!t.interactive) o.push('-o', 'BatchMode=yes');
  o.push('-o', 'ConnectTimeout=15');
  for (const x of t.options) o.push('-o', x);
  return o;
}

/** The first ssh: prints a new temporary folder, and markers for a previous install and for rsync. */
export function probeStep(t: SshTarget): Step {
  const root = (t.root ?? '/').replace(/\/$/, '');
  const script = `if [ -e ${shq(`${root}/etc/wacoflow/agent.yaml`)} ]; then echo wacoflow:provisioned; fi; if command -v rsync >/dev/null 2>&1; then echo wacoflow:rsync; fi; mktemp -d /tmp/wacoflow-flash.XXXXXX`;
  return { what: `connecting to ${t.dest}`, cmd: 'ssh', args: [...sshOptions(t, '-p'), t.dest, script] };
}

export function copyStep(t: SshTarget, payload: string, remoteDir: string, rsync: boolean): Step {
  if (rsync) {
    const e = ['ssh', ...sshOptions(t, '-p')].map(shq).join(' ');
    return { what: `copying the payload with rsync to ${t.dest}:${remoteDir}`, cmd: 'rsync', args: ['-a', '--info=progress2', '-e', e, `${payload}/`, `${t.dest}:${remoteDir}/payload/`] };
  }
  return { what: `copying the payload with scp to ${t.dest}:${remoteDir}`, cmd: 'scp', args: [...sshOptions(t, '-P'), '-r', '-p', payload, `${t.dest}:${remoteDir}/payload`] };
}

export function installStep(t: SshTarget, remoteDir: string): Step {
  const sudo = parseDest(t.dest).user === 'root' ? '' : 'sudo ';
  const rootArg = t.root ? ` --root ${shq(t.root)}` : '';
  const script = `trap 'rm -rf ${shq(remoteDir)}' EXIT; ${sudo}sh ${shq(`${remoteDir}/payload/install.sh`)}${rootArg}`;
  const tty = t.interactive && sudo ? ['-t'] : [];
  return { what: `running install.sh on ${t.dest}${sudo ? ' with sudo' : ''}`, cmd: 'ssh', args: [...tty, ...sshOptions(t, '-p'), t.dest, script] };
}

export type Runner = (step: Step, log: (line: string) => void) => Promise<{ code: number; stdout: string; stderr: string }>;

/** Runs a step, passing its output on line by line as it comes (progress), and collecting it. */
export const spawnRunner: Runner = (step, log) =>
  new Promise((resolve) => {
    const child = spawn(step.cmd, step.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const relay = (chunk: Buffer, into: 'out' | 'err') => {
      const text = chunk.toString();
      if (into === 'out') stdout += text;
      else stderr += text;
      for (const line of text.split(/[\r\n]+/)) if (line.trim() && !line.startsWith('wacoflow:') && !line.startsWith('/tmp/wacoflow-flash.')) log(`  ${line.trimEnd()}`);
    };
    child.stdout.on('data', (c: Buffer) => relay(c, 'out'));
    child.stderr.on('data', (c: Buffer) => relay(c, 'err'));
    child.on('error', (err) => resolve({ code: 127, stdout, stderr: `${stderr}${(err as NodeJS.ErrnoException).code === 'ENOENT' ? `${step.cmd} is not installed` : err.message}` }));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });

function failure(t: SshTarget, step: Step, r: { code: number; stderr: string }): WacoflowError {
  const last = r.stderr.trim().split('\n').filter(Boolean).at(-1) ?? '';
  const hint = r.code === 255 ? 'check the address, that the board runs sshd, and your key (--ssh-identity) or known_hosts' : 'see the output above';
  return new WacoflowError('WF_ERR_FLASH_SSH', `--ssh ${t.dest}: ${step.what} failed (${step.cmd} exit ${r.code}${last ? `: ${last}` : ''}); ${hint}`);
}

/** Probes the board: is it provisioned, has it rsync, and a private temporary folder for the payload. */
export async function sshProbe(t: SshTarget, run: Runner, log: (line: string) => void): Promise<{ provisioned: boolean; rsync: boolean; dir: string }> {
  const step = probeStep(t);
  log(step.what);
  const r = await run(step, log);
  if (r.code !== 0) throw failure(t, step, r);
  const dir = r.stdout.split('\n').map((l) => l.trim()).find((l) => l.startsWith('/tmp/wacoflow-flash.'));
  if (!dir) throw new WacoflowError('WF_ERR_FLASH_SSH', `--ssh ${t.dest}: could not make a temporary folder on the board (mktemp printed nothing)`);
  return { provisioned: r.stdout.includes('wacoflow:provisioned'), rsync: r.stdout.includes('wacoflow:rsync'), dir };
}

/** Removes the probe's temporary folder (best effort). */
export async function sshCleanup(t: SshTarget, dir: string, run: Runner): Promise<void> {
  await run({ what: 'cleaning up', cmd: 'ssh', args: [...sshOptions(t, '-p'), t.dest, `rm -rf ${shq(dir)}`] }, () => {}).catch(() => {});
}

export async function sshInstall(t: SshTarget, payload: string, remote: { dir: string; rsync: boolean }, run: Runner, log: (line: string) => void, localRsync: boolean): Promise<void> {
  const copy = copyStep(t, payload, remote.dir, remote.rsync && localRsync);
  log(copy.what);
  const c = await run(copy, log);
  if (c.code !== 0) {
    // The folder may hold part of the payload, secrets included: remove it (best effort, the link may be gone).
    await sshCleanup(t, remote.dir, run);
    throw failure(t, copy, c);
  }
  const install = installStep(t, remote.dir);
  log(install.what);
  const r = await run(install, log);
  if (r.code !== 0) throw failure(t, install, r);
}
