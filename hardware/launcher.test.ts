/**
 * The A/B launcher (hardware/bundle/wacoflow-launch.sh), run as systemd runs it, on install homes laid out as
 * a board's: a new version on trial stays once it reports healthy, and is rolled back when it crashes, hangs
 * without reporting, or keeps failing across restarts. A power cut (SIGKILL) at every step of an install leaves
 * a board whose next start runs a complete, verified version.
 */
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readlinkSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPending, readResult, writePending } from '../edge-agent/update/install-state.ts';
import { readManifest, verifyFiles } from '../edge-agent/update/manifest.ts';
import { INSTALL_STEPS } from '../edge-agent/update/updater.ts';
import { releasesHandler } from '../gateway/releases.ts';
import { encode, type ReleaseAnnouncement } from '../protocol/index.ts';
import { serveHttp, type TestHttpServer } from '../test/http-server.ts';
import { fixtureBundle, fixtureInstall, type RunBehaviour } from '../test/release-fixtures.ts';
import { generateReleaseKeys } from './bundle/signing.ts';

const LAUNCHER = join(import.meta.dirname, 'bundle', 'wacoflow-launch.sh');
const run = promisify(execFile);

/** A home with 0.1.0 (healthy) in slot a, and 0.2.0 behaving as asked in slot b, on trial. */
async function onTrial(behaviour: RunBehaviour, o: { health_timeout_s?: number; starts?: number } = {}): Promise<string> {
  const home = mkdtempSync(join(tmpdir(), 'wacoflow-launch-'));
  await fixtureInstall(home, { version: '0.1.0' });
  await fixtureBundle(join(home, 'slots', 'b'), { version: '0.2.0', behaviour });
  copyFileSync(LAUNCHER, join(home, 'wacoflow-launch'));
  writePending(home, { slot: 'b', previous: 'a', version: '0.2.0', health_timeout_s: o.health_timeout_s ?? 30, starts: o.starts ?? 0 });
  // As the agent does after writing `pending`: switch, then exit for the launcher to start the new version.
  writeFileSync(join(home, 'current.tmp'), '');
  await run('sh', ['-c', `cd ${home} && rm current.tmp && ln -sfn slots/b current`]);
  return home;
}

const launch = (home: string) => run('sh', [join(home, 'wacoflow-launch'), '--config', '/etc/wacoflow/agent.yaml'], { env: { ...process.env, WACOFLOW_HOME: home }, timeout: 30_000 });
const starts = (home: string) => readFileSync(join(home, 'starts.log'), 'utf8').trim().split('\n');

describe('wacoflow-launch', () => {
  it('runs the current slot with the unit\'s arguments', async () => {
    const home = mkdtempSync(join(tmpdir(), 'wacoflow-launch-'));
    await fixtureInstall(home, { version: '0.1.0' });
    copyFileSync(LAUNCHER, join(home, 'wacoflow-launch'));
    await launch(home);
    expect(starts(home)).toEqual(['0.1.0 --config /etc/wacoflow/agent.yaml']);
  });

  it('keeps a new version that reports healthy', async () => {
    const home = await onTrial('healthy');
    await launch(home);
    expect(starts(home)).toEqual(['0.2.0 --config /etc/wacoflow/agent.yaml']);
    expect(readlinkSync(join(home, 'current'))).toBe('slots/b');
    expect(readPending(home)).toBeNull();
  });

  it('does not take the next release, written within its poll, for this trial still pending', async () => {
    const home = await onTrial('healthy-then-update');
    await launch(home);
    // 0.2.0 passed; 0.3.0's trial is for the next start: nothing rolled back, `current` where the agent put it.
    expect(starts(home)[0]).toBe('0.2.0 --config /etc/wacoflow/agent.yaml');
    expect(readResult(home)).toBeNull();
    expect(readlinkSync(join(home, 'current'))).toBe('slots/a');
    expect(readPending(home)).toMatchObject({ slot: 'a', previous: 'b', version: '0.3.0' });
  });

  it('rolls back a new version that exits before it reports healthy, and starts the previous one', async () => {
    const home = await onTrial('crash');
    await launch(home);
    expect(starts(home)).toEqual(['0.2.0 --config /etc/wacoflow/agent.yaml', '0.1.0 --config /etc/wacoflow/agent.yaml']);
    expect(readlinkSync(join(home, 'current'))).toBe('slots/a');
    expect(readResult(home)).toEqual({ result: 'rolled_back', version: '0.2.0', reason: 'exited with status 3 before it reported healthy' });
    expect(readPending(home)).toBeNull();
  });

  it('rolls back a new version that runs but never reports healthy in time', async () => {
    const home = await onTrial('hang', { health_timeout_s: 2 });
    const t = Date.now();
    await launch(home);
    expect(Date.now() - t).toBeGreaterThanOrEqual(2_000);
    expect(starts(home)).toEqual(['0.2.0 --config /etc/wacoflow/agent.yaml', '0.1.0 --config /etc/wacoflow/agent.yaml']);
    expect(readResult(home)).toMatchObject({ result: 'rolled_back', reason: 'no healthy heartbeat within 2s' });
  });

  it('rolls back after as many starts as it allows, counting power cuts during the trial', async () => {
    const home = await onTrial('healthy', { starts: 3 });
    await launch(home);
    expect(starts(home)).toEqual(['0.1.0 --config /etc/wacoflow/agent.yaml']);
    expect(readResult(home)).toMatchObject({ result: 'rolled_back', reason: 'did not report healthy in 3 starts' });
  });

  it('stops the version on trial when systemd stops the service', async () => {
    const home = await onTrial('hang', { health_timeout_s: 30 });
    const child = spawn('sh', [join(home, 'wacoflow-launch')], { env: { ...process.env, WACOFLOW_HOME: home } });
    while (!existsSync(join(home, 'starts.log'))) await new Promise((r) => setTimeout(r, 50));
    const t = Date.now();
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    expect(Date.now() - t).toBeLessThan(5_000);
    const pid = Number(readFileSync(join(home, 'run.pid'), 'utf8'));
    expect(() => process.kill(pid, 0)).toThrow(); // the version on trial is gone too
    // A stop is no verdict on the new version: it stays on trial, and no older version was started.
    expect(starts(home)).toEqual(['0.2.0']);
    expect(readPending(home)).toMatchObject({ slot: 'b', starts: 1 });
  });
});

describe('a power cut at each step of an install', () => {
  const keys = generateReleaseKeys(mkdtempSync(join(tmpdir(), 'wacoflow-keys-')));
  const releases = mkdtempSync(join(tmpdir(), 'wacoflow-releases-'));
  let server: TestHttpServer;
  beforeAll(async () => {
    const handle = releasesHandler(releases);
    server = await serveHttp((req, res) => void (handle(req, res) || res.writeHead(404).end()));
    await fixtureBundle(join(releases, '0.2.0', 'x64'), { version: '0.2.0', signWith: keys.privateKey });
  });
  afterAll(() => server.close());

  it.each(INSTALL_STEPS)('after "%s" the next start runs a complete, verified version', async (step) => {
    const home = mkdtempSync(join(tmpdir(), 'wacoflow-cut-'));
    await fixtureInstall(home, { version: '0.1.0' });
    copyFileSync(LAUNCHER, join(home, 'wacoflow-launch'));
    const announcement = JSON.stringify(JSON.parse(encode({ v: 1, version: '0.2.0', bundles: { x64: `${server.base}/releases/0.2.0/x64/` }, share_pct: 100, sites: null, by: 't', ts_ms: Date.now() } satisfies ReleaseAnnouncement).toString()));
    const cut = await run(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '..', 'edge-agent', 'update', 'crash-updater.ts'), home, announcement, keys.publicKey, step]).then(
      () => null,
      (e: { signal?: string }) => e.signal,
    );
    expect(cut).toBe('SIGKILL');

    await launch(home);
    const ran = starts(home).at(-1)!.split(' ')[0];
    const slot = realpathSync(join(home, 'current'));
    expect(await verifyFiles(slot, readManifest(slot))).toEqual([]);
    expect(readManifest(slot).version).toBe(ran);
    // Before the switch the board keeps 0.1.0 (and takes the release again when it is offered); after it, 0.2.0
    // starts on trial and, healthy, stays.
    expect(ran).toBe(step === 'switched' ? '0.2.0' : '0.1.0');
    expect(readPending(home)).toBeNull();
  }, 30_000);
});
