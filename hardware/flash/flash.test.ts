/** `wacoflow flash` into a folder and onto a boot partition: files, modes, registry, refusals, mutual TLS, the CLI. */
import { execFile, execFileSync } from 'node:child_process';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { AgentFileConfigSchema } from '../../edge-agent/config.ts';
import { verifySecret } from '../../gateway/registry/devices.ts';
import { readRegistryFile } from '../../gateway/registry/file-registry.ts';
import { loadConfigFile } from '../../platform/config-file.ts';
import { makeCerts } from '../../test/tls-broker.ts';
import { flash, type FlashOptions } from './flash.ts';
import { INPUTS_YAML, makeBundle, tmp } from './test-fixtures.ts';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'wacoflow.js');

async function setup() {
  const dir = tmp('flash');
  writeFileSync(join(dir, 'inputs.yaml'), INPUTS_YAML);
  const base: Omit<FlashOptions, 'target'> = {
    board: 'rpi4', device_id: 'agent-i35-north', site: 'waco', gateway: 'mqtt://10.0.0.2:1883', registry: join(dir, 'devices.json'),
    inputs: join(dir, 'inputs.yaml'), bundle: await makeBundle(), force: false, version: '0.1.0',
  };
  return { dir, base };
}

const mode = (p: string) => statSync(p).mode & 0o777;

/** A mounted Raspberry Pi OS boot partition (`bootfs`) in `dir`, holding `files` as the image has them. */
function bootPartition(dir: string, files: Record<string, string>): string {
  const boot = join(dir, 'bootfs');
  mkdirSync(boot);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(boot, name), text);
  return boot;
}

describe('flash --out', () => {
  it('writes the payload with the right modes, a config that loads, and registers a secret that verifies', async () => {
    const { dir, base } = await setup();
    const out = join(dir, 'payload');
    const r = await flash({ ...base, target: { kind: 'out', dir: out } });
    expect(r.summary[0]).toBe('flashed agent-i35-north (Raspberry Pi 4 Model B, arm64) at site waco for mqtt://10.0.0.2:1883');
    for (const f of ['install.sh', 'bundle/manifest.json', 'bundle/wacoflow-launch', 'bundle/systemd/wacoflow-agent.service', 'etc/agent.yaml', 'etc/mqtt-password']) expect(existsSync(join(out, f)), f).toBe(true);
    expect(mode(join(out, 'etc', 'mqtt-password'))).toBe(0o600);
    expect(mode(join(out, 'install.sh'))).toBe(0o755);
    const config = loadConfigFile(join(out, 'etc', 'agent.yaml'), AgentFileConfigSchema);
    expect(config).toMatchObject({
      device_id: 'agent-i35-north', site: 'waco', mqtt_url: 'mqtt://10.0.0.2:1883', mqtt_password_file: '/etc/wacoflow/mqtt-password', data_dir: '/var/lib/wacoflow',
      outbox: { max_bytes: 67_108_864 }, inputs: [{ driver: 'ss125-serial', name: 'i35-hd' }, { driver: 'tmdd-http', name: 'txdot' }],
    });
    expect(config.mqtt_tls).toBeUndefined();
    const [device] = readRegistryFile(base.registry);
    expect(device).toMatchObject({ device_id: 'agent-i35-north', site: 'waco', enabled: true, role: 'device' });
    const secret = readFileSync(join(out, 'etc', 'mqtt-password'), 'utf8').trim();
    expect(await verifySecret(secret, device!.secret_hash)).toBe(true);
  });

  it('refuses a second flash without --force; --force rotates the secret', async () => {
    const { dir, base } = await setup();
    const out = join(dir, 'payload');
    await flash({ ...base, target: { kind: 'out', dir: out } });
    const first = readFileSync(join(out, 'etc', 'mqtt-password'), 'utf8').trim();
    await expect(flash({ ...base, target: { kind: 'out', dir: join(dir, 'elsewhere') } })).rejects.toThrow(/--device-id agent-i35-north: already registered in .*devices\.json .*give --force/);
    await expect(flash({ ...base, registry: join(dir, 'other.json'), target: { kind: 'out', dir: out } })).rejects.toThrow(/--out: .*already holds a wacoflow payload/);
    const r = await flash({ ...base, force: true, target: { kind: 'out', dir: out } });
    expect(r.secret_rotated).toBe(true);
    const second = readFileSync(join(out, 'etc', 'mqtt-password'), 'utf8').trim();
    expect(second).not.toBe(first);
    const devices = readRegistryFile(base.registry);
    expect(devices).toHaveLength(1);
    expect(await verifySecret(second, devices[0]!.secret_hash)).toBe(true);
    expect(await verifySecret(first, devices[0]!.secret_hash)).toBe(false);
  });

  it('issues a client certificate whose CN is the device id, signed by the device CA, and copies the CA and release key', async () => {
    const { dir, base } = await setup();
    const certs = makeCerts();
    const { publicKey } = generateKeyPairSync('ed25519');
    writeFileSync(join(dir, 'release.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
    const out = join(dir, 'payload');
    await flash({ ...base, gateway: 'mqtts://gw.example:8883', ca: certs.ca, device_ca_cert: certs.ca, device_ca_key: join(certs.dir, 'ca.key'), release_key: join(dir, 'release.pub'), target: { kind: 'out', dir: out } });
    const etc = join(out, 'etc');
    const cert = new X509Certificate(readFileSync(join(etc, 'client.pem')));
    expect(cert.subject).toBe('CN=agent-i35-north');
    expect(cert.verify(new X509Certificate(readFileSync(certs.ca)).publicKey)).toBe(true);
    expect(cert.checkPrivateKey((await import('node:crypto')).createPrivateKey(readFileSync(join(etc, 'client.key'))))).toBe(true);
    expect(execFileSync('openssl', ['verify', '-CAfile', certs.ca, '-purpose', 'sslclient', join(etc, 'client.pem')], { encoding: 'utf8' })).toContain(': OK');
    expect(mode(join(etc, 'client.key'))).toBe(0o600);
    expect(readFileSync(join(etc, 'ca.pem'), 'utf8')).toBe(readFileSync(certs.ca, 'utf8'));
    expect(readFileSync(join(etc, 'release-key.pub'), 'utf8')).toContain('BEGIN PUBLIC KEY');
    const agent = loadConfigFile(join(etc, 'agent.yaml'), AgentFileConfigSchema);
    expect(agent.mqtt_tls).toEqual({ ca_file: '/etc/wacoflow/ca.pem', cert_file: '/etc/wacoflow/client.pem', key_file: '/etc/wacoflow/client.key' });
    expect(agent.update.public_key_file).toBe('/etc/wacoflow/release-key.pub'); // the board takes releases signed by that key
  });

  it('refuses bad input before writing anything, saying which option and what to do', async () => {
    const { dir, base } = await setup();
    const out = join(dir, 'payload');
    const attempt = (o: Partial<FlashOptions>) => flash({ ...base, target: { kind: 'out', dir: out }, ...o });
    await expect(attempt({ gateway: 'http://x' })).rejects.toThrow(/--gateway "http:\/\/x": give the gateway's MQTT URL/);
    await expect(attempt({ board: 'rpi3' })).rejects.toThrow(/known boards: cm4, rpi-zero2w, rpi4, rpi5/);
    await expect(attempt({ inputs: undefined })).rejects.toThrow(/--inputs: the rpi4 board profile has no default inputs; give --inputs FILE[\s\S]*driver: ss125-serial/);
    await expect(attempt({ bundle: await makeBundle('x64') })).rejects.toThrow(/the bundle is for x64, the board is arm64/);
    await expect(attempt({ ca: join(dir, 'inputs.yaml') })).rejects.toThrow(/--ca and --device-ca-cert are for a TLS gateway/);
    await expect(attempt({ gateway: 'mqtts://gw:8883', device_ca_cert: join(dir, 'x.pem') })).rejects.toThrow(/--device-ca-cert and --device-ca-key: give both/);
    writeFileSync(join(dir, 'bad-inputs.yaml'), '- driver: ss125-serial\n  name: hd\n  line: { path: /dev/serial0 }\n');
    await expect(attempt({ inputs: join(dir, 'bad-inputs.yaml') })).rejects.toThrow(/--inputs .*bad-inputs\.yaml: 0\.drops: /);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(base.registry)).toBe(false);
  });
});

describe('flash --boot', () => {
  it('adds the payload and first-boot install to a Raspberry Pi OS boot partition, keeping what the image had', async () => {
    const { dir, base } = await setup();
    const userData = [
      '#cloud-config', '# written by Raspberry Pi Imager', 'hostname: i35-north', 'manage_etc_hosts: true', 'users:', '  - name: tech', '    groups: users,adm,dialout,sudo',
      '    shell: /bin/bash', '    lock_passwd: true', '    ssh_authorized_keys:', '      - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHyPfGQ0hnUwoTpbgXqHdK5lwrM8V4m8wL3p0yN0rS6J tech@laptop',
      'ssh_pwauth: false', 'runcmd:', '  - [ timedatectl, set-timezone, America/Chicago ]', '',
    ].join('\n');
    const boot = bootPartition(dir, {
      'config.txt': '# For more options and information see\n# http://rptl.io/configtxt\ndtparam=audio=on\n\n[cm5]\ndtoverlay=dwc2,dr_mode=host\n\n[all]\n',
      'cmdline.txt': 'console=serial0,115200 console=tty1 root=PARTUUID=0b7e6e36-02 rootfstype=ext4 fsck.repair=yes rootwait quiet\n',
      'user-data': userData,
      'network-config': 'network:\n  version: 2\n  ethernets:\n    eth0:\n      dhcp4: true\n',
    });

    const r = await flash({ ...base, target: { kind: 'boot', path: boot } });
    const payload = join(boot, 'wacoflow');
    for (const f of ['install.sh', 'bundle/manifest.json', 'etc/agent.yaml', 'etc/mqtt-password']) expect(existsSync(join(payload, f)), f).toBe(true);
    const ud = readFileSync(join(boot, 'user-data'), 'utf8');
    expect(ud.split('\n')[0]).toBe('#cloud-config');
    const doc = parse(ud) as { hostname: string; users: { name: string }[]; runcmd: unknown[] };
    expect(doc.hostname).toBe('i35-north');
    expect(doc.users[0]!.name).toBe('tech');
    expect(doc.runcmd).toEqual([['timedatectl', 'set-timezone', 'America/Chicago'], 'sh /boot/firmware/wacoflow/install.sh && rm -rf /boot/firmware/wacoflow']);
    expect(ud).toContain('# written by Raspberry Pi Imager');
    const schema = await run('cloud-init', ['schema', '--config-file', join(boot, 'user-data')]).catch((e: { stdout: string; stderr: string }) => e);
    expect(`${schema.stdout}${schema.stderr}`).toMatch(/Valid cloud-config/);
    expect(readFileSync(join(boot, 'meta-data'), 'utf8')).toBe('instance-id: wacoflow-agent-i35-north\n');
    expect(readFileSync(join(boot, 'network-config'), 'utf8')).toBe('network:\n  version: 2\n  ethernets:\n    eth0:\n      dhcp4: true\n');
    const config = readFileSync(join(boot, 'config.txt'), 'utf8');
    expect(config).toMatch(/\n\[all\]\n# wacoflow flash: .*\nenable_uart=1\n$/);
    expect(readFileSync(join(boot, 'cmdline.txt'), 'utf8')).toBe('console=tty1 root=PARTUUID=0b7e6e36-02 rootfstype=ext4 fsck.repair=yes rootwait quiet\n');
    expect(r.summary.join('\n')).toMatch(/boot {6}user-data: kept hostname, manage_etc_hosts, users, ssh_pwauth; runcmd entry appended/);
    const [device] = readRegistryFile(base.registry);
    expect(await verifySecret(readFileSync(join(payload, 'etc', 'mqtt-password'), 'utf8').trim(), device!.secret_hash)).toBe(true);

    // Again with --force: the payload is replaced, and config.txt, cmdline.txt and user-data are not added to twice.
    await expect(flash({ ...base, registry: join(dir, 'other.json'), target: { kind: 'boot', path: boot } })).rejects.toThrow(/--boot: .*wacoflow already holds a wacoflow payload/);
    await flash({ ...base, force: true, target: { kind: 'boot', path: boot } });
    expect(readFileSync(join(boot, 'config.txt'), 'utf8')).toBe(config);
    expect((parse(readFileSync(join(boot, 'user-data'), 'utf8')) as { runcmd: unknown[] }).runcmd).toHaveLength(2);
  });

  it('writes a fresh user-data when the image has none, leaves config.txt alone without a GPIO UART detector, and refuses a non-boot folder', async () => {
    const { dir, base } = await setup();
    const boot = bootPartition(dir, { 'config.txt': 'dtparam=audio=on\n', 'cmdline.txt': 'console=serial0,115200 console=tty1 root=PARTUUID=1-02\n' });
    writeFileSync(join(dir, 'usb.yaml'), '- driver: ss125-serial\n  name: usb\n  line: { path: /dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A10K1234-if00-port0 }\n  drops: [{ drop: 1, station_id: s1 }]\n');
    await flash({ ...base, board: 'rpi-zero2w', inputs: join(dir, 'usb.yaml'), target: { kind: 'boot', path: boot } });
    const ud = readFileSync(join(boot, 'user-data'), 'utf8');
    expect(ud).toBe('#cloud-config\nruncmd:\n  - sh /boot/firmware/wacoflow/install.sh && rm -rf /boot/firmware/wacoflow\n');
    expect(readFileSync(join(boot, 'config.txt'), 'utf8')).toBe('dtparam=audio=on\n');
    expect(readFileSync(join(boot, 'cmdline.txt'), 'utf8')).toContain('console=serial0,115200');
    expect(loadConfigFile(join(boot, 'wacoflow', 'etc', 'agent.yaml'), AgentFileConfigSchema).outbox.max_bytes).toBe(16_777_216);
    await expect(flash({ ...base, device_id: 'other', target: { kind: 'boot', path: dir } })).rejects.toThrow(/--boot .*: no config\.txt or cmdline\.txt here: this is not a Raspberry Pi OS boot partition/);
  });
});

describe('wacoflow flash (CLI)', () => {
  it('--help lists the three ways and the options', async () => {
    const { stdout } = await run(process.execPath, [BIN, 'flash', '--help']);
    for (const s of ['--board <name>', '--out <dir>', '--boot <path>', '--ssh <user@host>', '--device-ca-cert <file>', '--release-key <file>', '--force']) expect(stdout).toContain(s);
  });

  it('names the problem when no target or two are given, and exits 2', async () => {
    const { dir, base } = await setup();
    const args = [BIN, 'flash', '--board', 'rpi4', '--device-id', 'a1', '--site', 'waco', '--gateway', 'mqtt://h:1883', '--registry', base.registry, '--inputs', base.inputs!, '--bundle', base.bundle!];
    const none = (await run(process.execPath, args).catch((e: unknown) => e)) as { code: number; stderr: string };
    expect(none.code).toBe(2);
    expect(none.stderr).toBe('wacoflow: configuration error: --out, --boot or --ssh: give exactly one of --out DIR, --boot PATH or --ssh USER@HOST\n');
    const two = (await run(process.execPath, [...args, '--out', join(dir, 'o'), '--ssh', 'pi@h']).catch((e: unknown) => e)) as { code: number; stderr: string };
    expect(two.stderr).toContain('--out and --ssh: give exactly one of');
    const ok = await run(process.execPath, [...args, '--out', join(dir, 'o')]);
    expect(ok.stdout).toMatch(/^flashed a1 \(Raspberry Pi 4 Model B, arm64\)/);
  });
});
