/**
 * The systemd units in hardware/systemd/ and the readiness and watchdog messages behind them: each unit passes
 * `systemd-analyze verify` and carries its hardening, each process sends READY=1 and then WATCHDOG=1 to a
 * NOTIFY_SOCKET it is given (socat plays systemd), and the notifier stops feeding while its process is unhealthy.
 * The gateway needs WACOFLOW_KAFKA_BROKERS, central also WACOFLOW_DATABASE_URL.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { withSchema } from '../central/store/test-schema.ts';
import { ownTopics } from '../central/testing.ts';
import { recentlySucceeded, sdNotifier, type ExecFile } from '../platform/sd-notify.ts';
import { CORE_STATIONS } from '../simulators/waco/core.ts';
import { localGateway } from '../test/local-gateway.ts';
import { freePort } from '../test/ports.ts';
import { serviceAddress } from '../test/services.ts';

const BIN = join(import.meta.dirname, '..', 'bin', 'wacoflow.js');
const UNITS = join(import.meta.dirname, 'systemd');
const tool = (name: string): boolean => {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    if (process.env.WACOFLOW_REQUIRE_SERVICES === '1') throw new Error(`${name} is not installed but WACOFLOW_REQUIRE_SERVICES=1: install it (apt-get install systemd socat)`);
    return false;
  }
};
const hasAnalyze = tool('systemd-analyze');
const hasNotify = tool('systemd-notify') && tool('socat');

/** A unit file's [Service] and [Unit] settings, every value of a repeated key kept in order. */
function parseUnit(text: string): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) {
      section = header[1]!;
      continue;
    }
    const eq = line.indexOf('=');
    const key = `${section}.${line.slice(0, eq)}`;
    settings.set(key, [...(settings.get(key) ?? []), line.slice(eq + 1)]);
  }
  return settings;
}

describe.skipIf(!hasAnalyze)('hardware/systemd units', () => {
  const units = ['agent', 'gateway', 'central'] as const;

  it.each(units)('wacoflow-%s.service passes systemd-analyze verify with nothing reported', (name) => {
    // A root of our own with the system's units (for the targets ours name) and its ExecStart binary present:
    // the install layout (/opt/wacoflow) is not on this machine, and that alone must not be what verify sees.
    const root = mkdtempSync(join(tmpdir(), 'wf-systemd-root-'));
    cpSync('/usr/lib/systemd/system', join(root, 'usr/lib/systemd/system'), { recursive: true, verbatimSymlinks: true });
    const unit = readFileSync(join(UNITS, `wacoflow-${name}.service`), 'utf8');
    const exec = parseUnit(unit).get('Service.ExecStart')![0]!.split(' ')[0]!;
    mkdirSync(dirname(join(root, exec)), { recursive: true });
    writeFileSync(join(root, exec), '#!/bin/sh\n');
    chmodSync(join(root, exec), 0o755);
    mkdirSync(join(root, 'etc/systemd/system'), { recursive: true });
    writeFileSync(join(root, `etc/systemd/system/wacoflow-${name}.service`), unit);
    const r = spawnSyncText('systemd-analyze', ['verify', '--man=no', `--root=${root}`, `/etc/systemd/system/wacoflow-${name}.service`]);
    // verify exits 0 on unknown keys and bad values (it ignores them), so the test is that it says nothing at all.
    expect(r.output, r.output).toBe('');
    expect(r.status).toBe(0);
  });

  it.each(units)('wacoflow-%s.service is Type=notify with a watchdog, a restart policy and its hardening', (name) => {
    const u = parseUnit(readFileSync(join(UNITS, `wacoflow-${name}.service`), 'utf8'));
    const one = (key: string) => u.get(`Service.${key}`)?.join(' ');
    const agent = name === 'agent';
    expect(one('ExecStart')).toBe(agent ? '/opt/wacoflow/wacoflow-launch --config /etc/wacoflow/agent.yaml' : `/usr/bin/env wacoflow ${name} --config /etc/wacoflow/${name}.yaml`);
    expect({
      Type: one('Type'), NotifyAccess: one('NotifyAccess'), WatchdogSec: one('WatchdogSec'), Restart: one('Restart'),
      User: one('User'), Group: one('Group'), StateDirectory: one('StateDirectory'), ProtectSystem: one('ProtectSystem'),
      ProtectHome: one('ProtectHome'), PrivateTmp: one('PrivateTmp'), NoNewPrivileges: one('NoNewPrivileges'),
      DevicePolicy: one('DevicePolicy'), CapabilityBoundingSet: one('CapabilityBoundingSet'),
      RestrictAddressFamilies: one('RestrictAddressFamilies'), SupplementaryGroups: one('SupplementaryGroups'),
    }).toEqual({
      Type: 'notify', NotifyAccess: 'all', WatchdogSec: agent ? '30' : '20', Restart: agent ? 'always' : 'on-failure',
      User: 'wacoflow', Group: 'wacoflow', StateDirectory: 'wacoflow', ProtectSystem: 'strict',
      ProtectHome: 'yes', PrivateTmp: 'yes', NoNewPrivileges: 'yes',
      DevicePolicy: 'closed', CapabilityBoundingSet: '', // empty: no capability at all
      RestrictAddressFamilies: 'AF_UNIX AF_INET AF_INET6', SupplementaryGroups: agent ? 'dialout' : undefined,
    });
    expect(Number(one('RestartSec'))).toBeGreaterThan(0);
    expect(Number(one('TimeoutStopSec'))).toBeGreaterThan(agent ? 10 : 15); // longer than the process's own stop deadline
    // Writable: the data directory, and for the agent its install directory (A/B updates); nothing else.
    expect(one('ReadWritePaths')!.split(' ').sort()).toEqual(agent ? ['/opt/wacoflow', '/var/lib/wacoflow'] : ['/var/lib/wacoflow']);
    // Serial lines for the agent only; servers see no devices.
    expect(u.get('Service.DeviceAllow') ?? []).toEqual(agent ? ['char-ttyS rw', 'char-ttyUSB rw', 'char-ttyAMA rw', 'char-ttyACM rw'] : []);
    if (!agent) expect(one('PrivateDevices')).toBe('yes');
    // The launcher forwards SIGTERM to an agent on trial; systemd must not send a second one to it.
    if (agent) expect(one('KillMode')).toBe('mixed');
  });
});

function spawnSyncText(file: string, args: string[]): { status: number; output: string } {
  try {
    const out = execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { status: 0, output: out.trim() };
  } catch (err) {
    const e = err as { status: number; stdout: string; stderr: string };
    return { status: e.status, output: `${e.stdout}${e.stderr}`.trim() };
  }
}

/** socat playing systemd: everything sent to the datagram socket at `path`, concatenated (systemd-notify sends one message per datagram). */
async function notifyReceiver(dir: string): Promise<{ path: string; text(): string; waitFor(re: RegExp, count: number, timeout_ms: number): Promise<void>; stop(): void }> {
  const path = join(dir, 'notify.sock');
  const socat = spawn('socat', ['-u', `UNIX-RECVFROM:${path},fork`, '-'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let text = '';
  socat.stdout.on('data', (d: Buffer) => (text += d.toString()));
  const deadline = Date.now() + 5_000;
  while (!existsSync(path) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return {
    path,
    text: () => text,
    async waitFor(re, count, timeout_ms) {
      const end = Date.now() + timeout_ms;
      while ((text.match(new RegExp(re.source, 'g')) ?? []).length < count && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
      expect((text.match(new RegExp(re.source, 'g')) ?? []).length, `${re} ×${count} in ${JSON.stringify(text)}`).toBeGreaterThanOrEqual(count);
    },
    stop: () => void socat.kill('SIGKILL'),
  };
}

/**
 * Starts `wacoflow <args>` as systemd would with WatchdogSec=2, waits for READY=1 and then three WATCHDOG=1,
 * stops it with SIGTERM and expects STOPPING=1 and a clean exit.
 */
async function expectNotifies(dir: string, args: string[]): Promise<void> {
  const receiver = await notifyReceiver(dir);
  const child: ChildProcess = spawn(process.execPath, [BIN, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, NOTIFY_SOCKET: receiver.path, WATCHDOG_USEC: '2000000', WATCHDOG_PID: '' },
  });
  let logs = '';
  child.stderr!.on('data', (d: Buffer) => (logs += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  try {
    await receiver.waitFor(/READY=1/, 1, 60_000);
    await receiver.waitFor(/WATCHDOG=1/, 3, 10_000); // one a second: half of WATCHDOG_USEC
    const text = receiver.text();
    expect(text.indexOf('READY=1'), text).toBeLessThan(text.indexOf('WATCHDOG=1')); // fed only once ready
    child.kill('SIGTERM');
    expect(await exited, logs).toBe(0);
    await receiver.waitFor(/STOPPING=1/, 1, 5_000);
    expect(logs).not.toMatch(/main loop unhealthy/);
    // socat never answers systemd-notify's barrier: each run was killed at the timeout, and that was said once.
    expect(logs.match(/systemd-notify failed: no answer within/g) ?? [], logs).toHaveLength(1);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    receiver.stop();
  }
}

describe.skipIf(!hasNotify)('READY and WATCHDOG from the processes', () => {
  it('wacoflow agent', async () => {
    const { gateway } = await localGateway([{ device_id: 'agent-sd', secret: 's3cret' }]);
    const dir = mkdtempSync(join(tmpdir(), 'wf-sd-agent-'));
    try {
      writeFileSync(join(dir, 'agent.yaml'), [
        'device_id: agent-sd', 'site: waco', `mqtt_url: ${gateway.url()}`, 'mqtt_password: s3cret', `data_dir: ${join(dir, 'data')}`,
        'inputs:', '  - driver: tmdd-http', '    name: feed', '    url: http://127.0.0.1:9/detectorDataMsg',
      ].join('\n'));
      await expectNotifies(dir, ['agent', '--config', join(dir, 'agent.yaml')]);
    } finally {
      await gateway.stop();
    }
  }, 90_000);

  const brokers = serviceAddress('WACOFLOW_KAFKA_BROKERS');
  const database = serviceAddress('WACOFLOW_DATABASE_URL');

  it.skipIf(!brokers)('wacoflow gateway', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wf-sd-gw-'));
    writeFileSync(join(dir, 'gateway.yaml'), [
      'mqtt_host: 127.0.0.1', `mqtt_port: ${await freePort()}`, `registry_file: ${join(dir, 'devices.json')}`, `topic_prefix: ${ownTopics().prefix}`,
      'kafka_brokers:', ...brokers!.split(',').map((b) => `  - ${b}`),
    ].join('\n'));
    await expectNotifies(dir, ['gateway', '--config', join(dir, 'gateway.yaml')]);
  }, 120_000);

  it.skipIf(!brokers || !database)('wacoflow central', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wf-sd-central-'));
    const schema = withSchema(database!);
    const topics = ownTopics();
    try {
      writeFileSync(join(dir, 'inventory.yaml'), ['stations:', `  - ${JSON.stringify(CORE_STATIONS[0])}`].join('\n'));
      writeFileSync(join(dir, 'central.yaml'), [
        'kafka_brokers:', ...brokers!.split(',').map((b) => `  - ${b}`), `database_url: "${await schema.url()}"`, 'inventory_file: inventory.yaml',
        `topic_prefix: ${topics.prefix}`, `http_port: ${await freePort()}`, `group_id: central-${topics.prefix}`,
      ].join('\n'));
      await expectNotifies(dir, ['central', '--config', join(dir, 'central.yaml')]);
    } finally {
      await schema.drop();
    }
  }, 120_000);
});

describe('sdNotifier', () => {
  afterEach(() => void vi.useRealTimers());

  /** A notifier whose systemd-notify runs are recorded instead of spawned, and whose warnings are counted. */
  function recorded(env: NodeJS.ProcessEnv) {
    const sent: string[] = [];
    const exec: ExecFile = (_file, args, _options, callback) => {
      sent.push(args.join(' '));
      callback(null, '', '');
    };
    const warnings: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void (JSON.parse(line).level === 40 && warnings.push(JSON.parse(line).msg)) });
    return { notifier: sdNotifier(env, logger, exec), sent, warnings };
  }

  it('stops sending WATCHDOG=1 while the process is unhealthy, says so once, and resumes when it recovers', () => {
    vi.useFakeTimers();
    const { notifier, sent, warnings } = recorded({ NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '2000000' });
    let healthy = true;
    const cancel = notifier.startWatchdog(() => healthy);
    vi.advanceTimersByTime(3_000);
    expect(sent).toEqual(['WATCHDOG=1', 'WATCHDOG=1', 'WATCHDOG=1']); // every second: half of WATCHDOG_USEC
    healthy = false;
    vi.advanceTimersByTime(5_000);
    expect(sent).toHaveLength(3);
    expect(warnings.filter((w) => w.includes('main loop unhealthy'))).toHaveLength(1);
    healthy = true;
    vi.advanceTimersByTime(2_000);
    expect(sent).toHaveLength(5);
    cancel();
    vi.advanceTimersByTime(5_000);
    expect(sent).toHaveLength(5);
  });

  it('spawns nothing without NOTIFY_SOCKET, and does not feed a watchdog that WATCHDOG_PID gives to another process', () => {
    vi.useFakeTimers();
    const bare = recorded({ WATCHDOG_USEC: '2000000' });
    bare.notifier.ready('up');
    bare.notifier.startWatchdog(() => true);
    bare.notifier.stopping();
    vi.advanceTimersByTime(5_000);
    expect(bare.sent).toEqual([]);

    const other = recorded({ NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '2000000', WATCHDOG_PID: String(process.pid + 1) });
    other.notifier.startWatchdog(() => true);
    vi.advanceTimersByTime(5_000);
    expect(other.sent).toEqual([]);
    other.notifier.ready('up');
    expect(other.sent).toEqual(['READY=1 STATUS=up']);
  });

  it('recentlySucceeded turns false once a check hangs for longer than its age limit', async () => {
    let now = 0;
    let hang = false;
    const check = vi.fn(() => (hang ? new Promise<boolean>(() => {}) : Promise.resolve(true)));
    const healthy = recentlySucceeded(check, 25, () => now);
    for (now = 10; now <= 30; now += 10) {
      expect(healthy()).toBe(true);
      await Promise.resolve();
    }
    hang = true;
    now = 40;
    expect(healthy()).toBe(true); // this check never ends
    await Promise.resolve();
    now = 50;
    expect(healthy()).toBe(true); // 20 since the last success
    now = 60;
    expect(healthy()).toBe(false);
    expect(check).toHaveBeenCalledTimes(4); // no second check piles up behind the hung one
  });

  it.skipIf(!hasNotify)('with a receiver that is not systemd, systemd-notify is killed at the timeout, once logged, and leaves no child behind', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wf-sd-'));
    const receiver = await notifyReceiver(dir);
    const warnings: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void (JSON.parse(line).level === 40 && warnings.push(JSON.parse(line).msg)) });
    try {
      const notifier = sdNotifier({ ...process.env, NOTIFY_SOCKET: receiver.path }, logger);
      notifier.ready('testing');
      notifier.status('still testing');
      await receiver.waitFor(/READY=1\nSTATUS=testing/, 1, 5_000);
      const deadline = Date.now() + 10_000;
      while (warnings.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      await new Promise((r) => setTimeout(r, 500)); // room for the second run's failure, which must not be logged
      // Killed by our timeout; systemd-notify giving up on its own (after 5 s) would say "Failed to invoke barrier".
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/systemd-notify failed: no answer within 2000 ms/);
      const children = await new Promise<string>((r) => execFile('ps', ['-o', 'pid=,stat=,comm=', '--ppid', String(process.pid)], (_e, out) => r(out)));
      expect(children).not.toMatch(/systemd-notify/);
    } finally {
      receiver.stop();
    }
  });
});
