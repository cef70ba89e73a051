/**
 * Signed updates end to end, with real bundles from build-agent: a board runs 0.1.0 from an A/B install under
 * its launcher (restarted whenever it exits, as systemd's Restart=always does). An operator announces 0.2.0 with
 * `wacoflow release announce`; the agent downloads, verifies and installs it, restarts into it, and 0.2.0
 * confirms itself once the gateway acknowledged its heartbeat. Then a signed 0.3.0 that cannot start is
 * announced: it is rolled back to 0.2.0 and the fleet API says why. The first install loses power (SIGKILL)
 * half-way. Throughout, the outbox loses nothing and counts nothing twice.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeManifest } from '../edge-agent/update/manifest.ts';
import { releasesHandler } from '../gateway/releases.ts';
import type { UpdateReport } from '../protocol/index.ts';
import { expectEveryBinOnce, receiveBins } from '../test/agent-helpers.ts';
import { eventually, fleetRig, type FleetRig } from '../test/fleet-rig.ts';
import { serveHttp, type TestHttpServer } from '../test/http-server.ts';
import { buildAgentBundle } from './bundle/build.ts';
import { generateReleaseKeys, signBundle } from './bundle/signing.ts';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '..', 'bin', 'wacoflow.js');
const DEVICE = 'pi-update';
const arch = process.arch === 'arm64' ? 'arm64' : 'x64';

type FleetItem = { device_id: string; version: string | null; update: UpdateReport | null };

describe.skipIf(process.arch !== 'x64' && process.arch !== 'arm64')('signed updates on an A/B install', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wacoflow-update-'));
  const home = join(dir, 'opt-wacoflow');
  const releases = join(dir, 'releases');
  const keys = generateReleaseKeys(join(dir, 'keys'));
  let rig: FleetRig;
  let files: TestHttpServer;
  let received: Awaited<ReturnType<typeof receiveBins>>;
  let board: ChildProcess | null = null;
  let stopping = false;
  let log = '';
  let starts = 0;
  /** A power cut: the next time this text is logged, the board's processes are killed with SIGKILL. */
  let cutAt: string | null = null;
  let cuts = 0;

  /** systemd's part: start the launcher, and start it again whenever it exits. */
  const startBoard = () => {
    starts++;
    board = spawn('sh', [join(home, 'wacoflow-launch'), '--config', join(dir, 'agent.yaml'), '--log-level', 'info'], { stdio: ['ignore', 'ignore', 'pipe'] });
    const running = board;
    board.stderr!.on('data', (b: Buffer) => {
      log += b.toString();
      if (cutAt && log.includes(cutAt)) {
        cutAt = null;
        cuts++;
        running.kill('SIGKILL'); // outside a trial the launcher has exec'd the agent: this is the agent
      }
    });
    board.once('exit', () => void (stopping || setTimeout(startBoard, 200)));
  };

  beforeAll(async () => {
    const bundle = (version: string) => buildAgentBundle({ arch, out: join(dir, 'built', version), version });
    await bundle('0.1.0');
    await bundle('0.2.0');
    // A release that is signed and complete but cannot start: it must be rolled back.
    cpSync(join(dir, 'built', '0.2.0'), join(dir, 'built', '0.3.0'), { recursive: true });
    writeFileSync(join(dir, 'built', '0.3.0', 'wacoflow-agent.mjs'), "console.error('0.3.0: cannot start'); process.exit(3);\n");
    await writeManifest(join(dir, 'built', '0.3.0'), { version: '0.3.0', arch, entry: 'wacoflow-agent.mjs', runtime: { node: 'bin/node', node_version: '20.19.6', node_flags: [] } });
    for (const v of ['0.2.0', '0.3.0']) {
      await signBundle(join(dir, 'built', v), keys.privateKey);
      cpSync(join(dir, 'built', v), join(releases, v, arch), { recursive: true });
    }
    // The board as install.sh leaves it: 0.1.0 in slot a, the launcher beside the slots.
    mkdirSync(join(home, 'slots'), { recursive: true });
    cpSync(join(dir, 'built', '0.1.0'), join(home, 'slots', 'a'), { recursive: true });
    symlinkSync(join('slots', 'a'), join(home, 'current'));
    copyFileSync(join(home, 'slots', 'a', 'wacoflow-launch'), join(home, 'wacoflow-launch'));

    rig = await fleetRig([{ device_id: DEVICE, secret: 'pw' }]);
    received = await receiveBins(rig.log, 'update-test', () => true, rig.topics.bins);
    const handle = releasesHandler(releases);
    files = await serveHttp((req, res) => void (handle(req, res) || res.writeHead(404).end()));
    writeFileSync(join(dir, 'agent.yaml'), JSON.stringify({
      device_id: DEVICE, site: 'waco', mqtt_url: rig.gateway.url(), mqtt_password: 'pw', data_dir: join(dir, 'data'),
      bin_ms: 20_000, close_delay_ms: 6_000, heartbeat_interval_ms: 5_000, reconnect_ms: 500,
      update: { public_key_file: keys.publicKey, health_timeout_ms: 20_000 },
      inputs: [{ driver: 'tmdd-http', name: 'i35', url: rig.feedUrl('txdot-i35'), poll_interval_ms: 5_000 }],
    }));
    startBoard();
  }, 180_000);

  afterAll(async () => {
    stopping = true;
    if (board && board.exitCode === null) {
      board.kill('SIGTERM');
      await new Promise((r) => board!.once('exit', r));
    }
    files?.close();
    await received?.stop();
    await rig?.close();
  });

  const me = async () => (await rig.api<{ devices: FleetItem[] }>('/api/fleet')).devices.find((d) => d.device_id === DEVICE) ?? null;
  const announce = (version: string) =>
    run(process.execPath, [BIN, 'release', 'announce', '--version', version, '--bundle', `${arch}=${files.base}/releases/${version}/${arch}/`, '--release-key', keys.publicKey, '--by', 'test', ...rig.operatorArgs(dir)]);

  it('runs 0.1.0 from slot a', async () => {
    const d = await eventually(async () => ((await me())?.version === '0.1.0' ? me() : null), `0.1.0 in the fleet\n${log}`);
    expect(d!.update).toMatchObject({ state: 'idle' });
  }, 60_000);

  it('installs a signed 0.2.0, restarts into it, and keeps it once it is healthy, after a power cut mid-install', async () => {
    // The first attempt loses power once its files are staged (or just after, as a real cut lands where it
    // lands); the board starts again on a complete version and takes the retained announcement again.
    cutAt = '"step":"staged"';
    const { stdout } = await announce('0.2.0');
    expect(stdout).toContain('announced 0.2.0 to 100 % of the boards');
    expect(stdout).toContain('signature verified');
    const d = await eventually(async () => {
      const x = await me();
      return x?.version === '0.2.0' && x.update?.state === 'installed' ? x : null;
    }, `0.2.0 installed\n${log}`, 90_000);
    expect(d.update).toMatchObject({ state: 'installed', version: '0.2.0', reason: null });
    expect(cuts).toBe(1);
  }, 100_000);

  it('rolls back a signed 0.3.0 that cannot start, and reports why', async () => {
    await announce('0.3.0');
    const d = await eventually(async () => {
      const x = await me();
      return x?.update?.state === 'rolled_back' ? x : null;
    }, `0.3.0 rolled back\n${log}`, 90_000);
    expect(d.version).toBe('0.2.0');
    expect(d.update).toMatchObject({ state: 'rolled_back', version: '0.3.0', reason: 'exited with status 3 before it reported healthy' });
    expect(log).toContain('rolled back from 0.3.0 to slots/b');
  }, 100_000);

  it('lost and counted twice nothing from its outbox through both', async () => {
    const after = Date.now();
    // One that ended after the rollback was sealed by the version running now.
    await eventually(async () => [...received.bins.values()].some((b) => b.bin_start_ms + b.bin_ms > after), 'bins after the rollback', 60_000);
    expectEveryBinOnce(received.bins);
    expect(starts).toBeGreaterThanOrEqual(3); // 0.1.0, then 0.2.0, then 0.3.0 (and 0.2.0 again, by the launcher itself)
  }, 70_000);
});
