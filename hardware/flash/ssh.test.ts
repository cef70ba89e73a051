/**
 * `flash --ssh` against a real sshd on an ephemeral loopback port (generated host and user keys, running as the
 * current user), installing with install.sh --root into a temporary folder. Skipped without openssh-server.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifySecret } from '../../gateway/registry/devices.ts';
import { readRegistryFile } from '../../gateway/registry/file-registry.ts';
import { freePort } from '../../test/ports.ts';
import { flash } from './flash.ts';
import { copyStep, installStep, probeStep, type SshTarget } from './ssh.ts';
import { INPUTS_YAML, makeBundle, tmp } from './test-fixtures.ts';

const SSHD = '/usr/sbin/sshd';

describe('ssh commands', () => {
  const t: SshTarget = { dest: 'pi@10.0.0.21', port: 2222, identity: '/k', options: ['StrictHostKeyChecking=accept-new'], interactive: false };
  it('uses sudo for a non-root user, passes --root, and quotes for the remote shell', () => {
    expect(installStep({ ...t, root: "/tmp/it's" }, '/tmp/wacoflow-flash.abc').args.at(-1)).toBe(
      `trap 'rm -rf /tmp/wacoflow-flash.abc' EXIT; sudo sh /tmp/wacoflow-flash.abc/payload/install.sh --root '/tmp/it'\\''s'`,
    );
    expect(probeStep(t).args.slice(0, 9)).toEqual(['-p', '2222', '-i', '/k', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=15', '-o']);
    expect(copyStep(t, '/p', '/tmp/x', false)).toMatchObject({ cmd: 'scp', args: expect.arrayContaining(['-P', '2222', '-r', '-p', '/p', 'pi@10.0.0.21:/tmp/x/payload']) });
    expect(copyStep(t, '/p', '/tmp/x', true).cmd).toBe('rsync');
  });
});

describe.skipIf(!existsSync(SSHD))('flash --ssh against a real sshd', () => {
  let sshd: ChildProcess;
  let dir: string;
  let port: number;
  let target: SshTarget;

  beforeAll(async () => {
    dir = tmp('sshd');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_key')]);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'user_key')]);
    writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'user_key.pub')));
    chmodSync(join(dir, 'authorized_keys'), 0o600);
    port = await freePort();
    writeFileSync(join(dir, 'sshd_config'), [
      `Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${join(dir, 'host_key')}`, `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'PubkeyAuthentication yes', 'PermitRootLogin prohibit-password', 'UsePAM no',
      'StrictModes no', `PidFile ${join(dir, 'sshd.pid')}`, 'Subsystem sftp internal-sftp', '',
    ].join('\n'));
    if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true }); // privilege separation directory
    sshd = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    sshd.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    const deadline = Date.now() + 10_000;
    while (!log.includes('Server listening') && Date.now() < deadline && sshd.exitCode === null) await new Promise((r) => setTimeout(r, 50));
    if (!log.includes('Server listening')) throw new Error(`sshd did not start: ${log}`);
    target = {
      dest: `${userInfo().username}@127.0.0.1`, port, identity: join(dir, 'user_key'), interactive: false, root: join(dir, 'board'),
      options: ['StrictHostKeyChecking=no', `UserKnownHostsFile=${join(dir, 'known_hosts')}`, 'LogLevel=ERROR'],
    };
  }, 20_000);

  afterAll(() => {
    sshd?.kill('SIGTERM');
  });

  it('copies the payload, runs install.sh on the board, registers the device, and refuses a second time without --force', async () => {
    mkdirSync(target.root!, { recursive: true });
    writeFileSync(join(dir, 'inputs.yaml'), INPUTS_YAML);
    const lines: string[] = [];
    const base = {
      board: 'rpi5', device_id: 'agent-ssh', site: 'waco', gateway: 'mqtt://10.0.0.2:1883', registry: join(dir, 'devices.json'), inputs: join(dir, 'inputs.yaml'),
      bundle: await makeBundle(), force: false, version: '0.1.0', log: (l: string) => lines.push(l),
    };
    // The Pi 5's GPIO UART is ttyAMA0; serial0 in the shared inputs file is its debug UART, which is fine for this test.
    const r = await flash({ ...base, target: { kind: 'ssh', ...target } });
    expect(lines.join('\n')).toMatch(/connecting to .*@127\.0\.0\.1[\s\S]*copying the payload with (scp|rsync)[\s\S]*running install\.sh[\s\S]*install\.sh: done/);
    expect(r.summary.join('\n')).toContain(`installed on ${target.dest} under ${target.root}`);
    const root = target.root!;
    expect(readlinkSync(join(root, 'opt', 'wacoflow', 'current'))).toBe('slots/a');
    const secret = readFileSync(join(root, 'etc', 'wacoflow', 'mqtt-password'), 'utf8').trim();
    expect(await verifySecret(secret, readRegistryFile(base.registry)[0]!.secret_hash)).toBe(true);
    expect(execFileSync('sh', ['-c', 'ls -d /tmp/wacoflow-flash.* 2>/dev/null || true'], { encoding: 'utf8' })).toBe(''); // the remote folder is gone

    await expect(flash({ ...base, registry: join(dir, 'other.json'), target: { kind: 'ssh', ...target } })).rejects.toThrow(/the board already has a wacoflow install/);
    await flash({ ...base, force: true, target: { kind: 'ssh', ...target } });
    expect(readlinkSync(join(root, 'opt', 'wacoflow', 'current'))).toBe('slots/b');
  }, 60_000);

  it('fails clearly when ssh cannot log in', async () => {
    const bad = { ...target, identity: join(dir, 'host_key') };
    await expect(flash({
      board: 'rpi4', device_id: 'agent-nologin', site: 'waco', gateway: 'mqtt://h:1883', registry: join(dir, 'd2.json'), inputs: join(dir, 'inputs.yaml'),
      bundle: await makeBundle(), force: false, version: '0.1.0', target: { kind: 'ssh', ...bad },
    })).rejects.toThrow(/--ssh .*: connecting to .* failed \(ssh exit 255: .*Permission denied.*\); check the address, that the board runs sshd, and your key/);
    expect(existsSync(join(dir, 'd2.json'))).toBe(false);
  }, 30_000);
});
