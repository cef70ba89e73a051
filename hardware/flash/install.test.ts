/** install.sh --root lays the team's install layout out under a folder, and does it again without harm. */
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { INSTALL_SH, writePayload } from './payload.ts';
import { makeBundle, tmp } from './test-fixtures.ts';

describe('install.sh', () => {
  it('installs into slot a, then the other slot on each re-install, with the right modes', async () => {
    const payload = join(tmp('payload'), 'p');
    writePayload(payload, { bundle_dir: await makeBundle(), agent_yaml: 'device_id: x\n', secret: 's3cret', client_key: 'KEY\n', client_cert: 'CERT\n', ca: 'CA\n', release_key: 'PUB\n' });
    const root = tmp('root');
    const install = () => execFileSync('sh', [join(payload, 'install.sh'), '--root', root], { encoding: 'utf8' });
    const out1 = install();
    expect(out1).toContain(`install.sh: installing the agent bundle into ${root}/opt/wacoflow/slots/a`);
    expect(out1).toContain('not the running system: no user, no systemctl');
    const opt = join(root, 'opt', 'wacoflow');
    expect(lstatSync(join(opt, 'current')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(opt, 'current'))).toBe('slots/a');
    expect(existsSync(join(opt, 'current', 'manifest.json'))).toBe(true);
    expect(statSync(join(opt, 'wacoflow-launch')).mode & 0o777).toBe(0o755);
    expect(statSync(join(opt, 'slots', 'a', 'bin', 'node')).mode & 0o111).not.toBe(0);
    const etc = join(root, 'etc', 'wacoflow');
    expect(readFileSync(join(etc, 'mqtt-password'), 'utf8')).toBe('s3cret\n');
    for (const [f, mode] of [['mqtt-password', 0o600], ['client.key', 0o600], ['agent.yaml', 0o644], ['ca.pem', 0o644], ['client.pem', 0o644], ['release-key.pub', 0o644]] as const) {
      expect(statSync(join(etc, f)).mode & 0o777, f).toBe(mode);
    }
    expect(readFileSync(join(root, 'etc', 'systemd', 'system', 'wacoflow-agent.service'), 'utf8')).toContain('ExecStart=/opt/wacoflow/wacoflow-launch');
    expect(statSync(join(root, 'var', 'lib', 'wacoflow')).mode & 0o777).toBe(0o750);

    install();
    expect(readlinkSync(join(opt, 'current'))).toBe('slots/b');
    expect(existsSync(join(opt, 'slots', 'a', 'manifest.json'))).toBe(true); // the previous slot stays as it was
    install();
    expect(readlinkSync(join(opt, 'current'))).toBe('slots/a');
    expect(execFileSync('find', [root, '-name', '*.tmp*'], { encoding: 'utf8' })).toBe(''); // no temporary names left
  });

  it('refuses an incomplete payload and an unknown option', () => {
    const r = (args: string[]) => {
      try {
        execFileSync('sh', [INSTALL_SH, ...args], { encoding: 'utf8', stdio: 'pipe' });
        return '';
      } catch (e) {
        return (e as { stderr: string }).stderr;
      }
    };
    expect(r(['--bogus'])).toContain('unknown option --bogus');
    expect(r(['--root', tmp('root')])).toMatch(/bundle\/manifest\.json is missing: this is not a complete wacoflow payload/);
  });
});
