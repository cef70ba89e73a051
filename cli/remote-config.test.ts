/**
 * Remote configuration end to end, as operators and boards use it: `wacoflow config publish` through a gateway,
 * a real agent process applying fleet, site and device documents in that order of precedence, refusing one that
 * would make its configuration invalid, and central's fleet API showing each board's applied hash, versions and
 * refusal. The agent's outbox goes on through every change: no bin lost, none counted twice.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentFileConfigSchema } from '../edge-agent/config.ts';
import { configHash, merge } from '../edge-agent/remote/remote-config.ts';
import { encode, mqttConfigTopics, type ConfigDocument, type ConfigReport } from '../protocol/index.ts';
import { expectEveryBinOnce, receiveBins } from '../test/agent-helpers.ts';
import { eventually, fleetRig, OPERATOR, type FleetRig } from '../test/fleet-rig.ts';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '..', 'bin', 'wacoflow.js');
const DEVICE = 'pi-remote';

type FleetItem = { device_id: string; config: ConfigReport | null };

describe('remote configuration, end to end', () => {
  let rig: FleetRig;
  let agent: ChildProcess;
  let stderr = '';
  const dir = mkdtempSync(join(tmpdir(), 'wacoflow-remote-'));
  let base: Record<string, unknown>;
  let received: Awaited<ReturnType<typeof receiveBins>>;

  beforeAll(async () => {
    rig = await fleetRig([{ device_id: DEVICE, secret: 'pw' }]);
    received = await receiveBins(rig.log, 'remote-config-test', () => true, rig.topics.bins);
    base = {
      device_id: DEVICE, site: 'waco', mqtt_url: rig.gateway.url(), mqtt_password: 'pw', data_dir: join(dir, 'data'),
      bin_ms: 20_000, close_delay_ms: 6_000, heartbeat_interval_ms: 3_600_000, reconnect_ms: 500,
      inputs: [{ driver: 'tmdd-http', name: 'i35', url: rig.feedUrl('txdot-i35'), poll_interval_ms: 5_000 }],
    };
    writeFileSync(join(dir, 'agent.yaml'), JSON.stringify(base)); // JSON is YAML
    agent = spawn(process.execPath, [BIN, 'agent', '--config', join(dir, 'agent.yaml'), '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
    agent.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  }, 60_000);
  afterAll(async () => {
    agent?.kill('SIGTERM');
    if (agent && agent.exitCode === null) await new Promise((r) => agent.once('exit', r));
    await received?.stop();
    await rig?.close();
  });

  const fleetConfig = async (): Promise<ConfigReport | null> => ((await rig.api<{ devices: FleetItem[] }>('/api/fleet')).devices.find((d) => d.device_id === DEVICE)?.config ?? null);
  const publish = (scope: string, settings: Record<string, unknown>, target?: string) => {
    const file = join(dir, `${scope}-${Date.now()}.yaml`);
    writeFileSync(file, JSON.stringify(settings));
    return run(process.execPath, [BIN, 'config', 'publish', '--scope', scope, ...(target ? ['--target', target] : []), '--file', file, '--by', 'test', ...rig.operatorArgs(dir)]);
  };
  /** The hash the board must report for the file with these documents on top. */
  const expectedHash = (docs: Partial<Record<'fleet' | 'site' | 'device', Record<string, unknown>>>) =>
    configHash(AgentFileConfigSchema.parse(merge(base, { fleet: null, site: null, device: null, ...Object.fromEntries(Object.entries(docs).map(([k, config]) => [k, { config } as ConfigDocument])) })));

  it('reports the file\'s own configuration before any document', async () => {
    const c = await eventually(fleetConfig, `${DEVICE} in the fleet with a config report\n${stderr}`, 30_000);
    expect(c).toEqual({ applied_hash: expectedHash({}), versions: { fleet: null, site: null, device: null }, refused: null });
  }, 60_000);

  it('applies fleet, site and device documents, the device\'s winning over the site\'s over the fleet\'s', async () => {
    const fleet = { heartbeat_interval_ms: 60_000, backlog_bins_per_s: 500, reconnect_ms: 1_000 };
    const site = { heartbeat_interval_ms: 30_000, backlog_bins_per_s: 900 };
    const device = { heartbeat_interval_ms: 2_000 };
    const { stdout } = await publish('fleet', fleet);
    expect(stdout).toContain('published fleet document version 1');
    await eventually(async () => (await fleetConfig())?.versions.fleet === 1, 'the fleet document applied');
    await publish('site', site, 'waco');
    await publish('device', device, `waco/${DEVICE}`);
    const c = await eventually(async () => {
      const r = await fleetConfig();
      return r?.versions.device === 1 && r.versions.site === 1 ? r : null;
    }, 'the site and device documents applied');
    expect(c).toEqual({ applied_hash: expectedHash({ fleet, site, device }), versions: { fleet: 1, site: 1, device: 1 }, refused: null });
    // A second fleet document gets the next version, and sits under the site's and the device's still.
    await publish('fleet', { ...fleet, reconnect_ms: 2_000 });
    const again = await eventually(async () => ((await fleetConfig())?.versions.fleet === 2 ? fleetConfig() : null), 'fleet version 2');
    expect(again!.applied_hash).toBe(expectedHash({ fleet: { ...fleet, reconnect_ms: 2_000 }, site, device }));
  }, 90_000);

  it('refuses an invalid document, keeps what it runs, and says why in the fleet API', async () => {
    const before = (await fleetConfig())!;
    // The CLI refuses it before it leaves the operator's machine…
    const cli = await publish('device', { bin_ms: 70_000 }, `waco/${DEVICE}`).then(() => null, (e: { code: number; stderr: string }) => e);
    expect(cli?.code).toBe(2);
    expect(cli?.stderr).toContain('bin_ms: must divide 300000');
    // …so a tool that publishes it anyway is what the board must withstand.
    const ops = await mqtt.connectAsync(rig.gateway.url(), { clientId: OPERATOR.id, username: OPERATOR.id, password: OPERATOR.secret, reconnectPeriod: 0 });
    const doc: ConfigDocument = { v: 1, scope: 'device', target: DEVICE, version: 2, config: { bin_ms: 70_000 }, by: 'script', ts_ms: Date.now() };
    await ops.publishAsync(mqttConfigTopics('waco', DEVICE).device, encode(doc), { qos: 1, retain: true });
    await ops.endAsync();
    const c = await eventually(async () => (await fleetConfig())?.refused ?? null, 'the refusal in the fleet API');
    expect(c).toMatchObject({ scope: 'device', version: 2, reason: expect.stringContaining('bin_ms: must divide 300000') });
    expect((await fleetConfig())!.applied_hash).toBe(before.applied_hash);
    expect(agent.exitCode).toBeNull();
  }, 60_000);

  it('lost and counted twice nothing from its outbox across every change', async () => {
    // Bins of 20 s leave 6 s after they end: one that ended after the last change was sealed by the agent running now.
    const after = Date.now();
    await eventually(async () => [...received.bins.values()].some((b) => b.bin_start_ms + b.bin_ms > after), 'bins after the changes', 60_000);
    expectEveryBinOnce(received.bins);
  }, 70_000);
});
