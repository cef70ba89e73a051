/**
 * The updater against releases served over HTTP: a signed, newer release for this board is installed into
 * the other slot and switched to; unsigned, tampered, older, wrong-architecture and rolled-back releases are
 * refused with the reason in the report, and the board keeps running what it ran. Releases for other sites or
 * outside the rollout share are left alone.
 */
import { createPublicKey } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encode, type ReleaseAnnouncement } from '../../protocol/index.ts';
import { releasesHandler } from '../../gateway/releases.ts';
import { generateReleaseKeys } from '../../hardware/bundle/signing.ts';
import { serveHttp, type TestHttpServer } from '../../test/http-server.ts';
import { fixtureBundle, fixtureInstall } from '../../test/release-fixtures.ts';
import { readPending, readResult, writeResult } from './install-state.ts';
import { readManifest, verifyFiles } from './manifest.ts';
import { INSTALL_STEPS, rolloutBucket, Updater, type InstallStep } from './updater.ts';

const keys = generateReleaseKeys(mkdtempSync(join(tmpdir(), 'wacoflow-keys-')));
const otherKeys = generateReleaseKeys(mkdtempSync(join(tmpdir(), 'wacoflow-keys-')));
const releases = mkdtempSync(join(tmpdir(), 'wacoflow-releases-'));
let server: TestHttpServer;
const requested: string[] = [];

beforeAll(async () => {
  const handle = releasesHandler(releases);
  server = await serveHttp((req, res) => {
    requested.push(req.url ?? '');
    if (!handle(req, res)) res.writeHead(404).end();
  });
  await fixtureBundle(join(releases, '0.2.0', 'x64'), { version: '0.2.0', signWith: keys.privateKey });
  await fixtureBundle(join(releases, '0.2.0', 'arm64'), { version: '0.2.0', arch: 'arm64', signWith: keys.privateKey });
  await fixtureBundle(join(releases, '0.0.9', 'x64'), { version: '0.0.9', signWith: keys.privateKey });
  await fixtureBundle(join(releases, 'unsigned', 'x64'), { version: '0.2.0' });
  await fixtureBundle(join(releases, 'other-key', 'x64'), { version: '0.2.0', signWith: otherKeys.privateKey });
  // Changed after signing: one file, and the manifest itself.
  await fixtureBundle(join(releases, 'tampered-file', 'x64'), { version: '0.2.0', signWith: keys.privateKey });
  const agent = join(releases, 'tampered-file', 'x64', 'wacoflow-agent.mjs');
  writeFileSync(agent, readFileSync(agent, 'utf8').replace('// agent', '// AGENT')); // same size, other bytes
  await fixtureBundle(join(releases, 'tampered-manifest', 'x64'), { version: '0.2.0', signWith: keys.privateKey });
  const m = join(releases, 'tampered-manifest', 'x64', 'manifest.json');
  writeFileSync(m, readFileSync(m, 'utf8').replace('"version": "0.2.0"', '"version": "0.9.0"'));
});
afterAll(() => server.close());

function board(o: { site?: string; device_id?: string; arch?: 'arm64' | 'x64' } = {}) {
  const home = mkdtempSync(join(tmpdir(), 'wacoflow-home-'));
  const steps: InstallStep[] = [];
  const switched: string[] = [];
  const ready = fixtureInstall(home, { version: '0.1.0' });
  const make = () =>
    new Updater(
      {
        install: { home, slot: 'a' }, running_version: '0.1.0', arch: o.arch ?? 'x64', device_id: o.device_id ?? 'pi-1', site: o.site ?? 'waco',
        public_key: createPublicKey(readFileSync(keys.publicKey)), health_timeout_ms: 60_000, download_timeout_ms: 10_000,
      },
      { logger: pino({ level: 'silent' }), now: () => Date.now(), onStep: (s) => steps.push(s), onSwitched: (v) => switched.push(v) },
    );
  return { home, steps, switched, ready, make };
}

const announce = (path: string, o: Partial<ReleaseAnnouncement> = {}): Buffer =>
  encode({ v: 1, version: '0.2.0', bundles: { x64: `${server.base}/releases/${path}/x64/` }, share_pct: 100, sites: null, by: 'test', ts_ms: Date.now(), ...o } satisfies ReleaseAnnouncement);

async function offer(b: ReturnType<typeof board>, payload: Buffer) {
  await b.ready;
  const u = b.make();
  u.offer(payload);
  await u.idle();
  return u;
}

describe('updater', () => {
  it('installs a signed newer release into the other slot, switches to it, and fetches only what changed', async () => {
    const b = board();
    requested.length = 0;
    const u = await offer(b, announce('0.2.0'));
    expect(u.report()).toMatchObject({ state: 'trial', version: '0.2.0', reason: null });
    expect(b.steps).toEqual([...INSTALL_STEPS]);
    expect(b.switched).toEqual(['0.2.0']);
    expect(readlinkSync(join(b.home, 'current'))).toBe(join('slots', 'b'));
    expect(readPending(b.home)).toEqual({ slot: 'b', previous: 'a', version: '0.2.0', health_timeout_s: 60, starts: 0 });
    const slot = join(b.home, 'slots', 'b');
    expect(await verifyFiles(slot, readManifest(slot))).toEqual([]);
    expect(existsSync(join(b.home, 'slots', 'a', 'run'))).toBe(true); // the previous version stays for a rollback
    // The runtime is byte for byte the running one: copied on the board, not sent over the air.
    expect(requested.some((r) => r.endsWith('/bin/node'))).toBe(false);
    expect(requested.some((r) => r.endsWith('/wacoflow-agent.mjs'))).toBe(true);
  });

  it.each([
    ['unsigned', 'unsigned', /^unsigned: no manifest\.sig/],
    ['signed with another key', 'other-key', /signature does not verify/],
    ['a file changed after signing', 'tampered-file', /wacoflow-agent\.mjs: SHA-256 differs from the signed manifest/],
    ['a manifest changed after signing', 'tampered-manifest', /signature does not verify/],
  ])('refuses a release %s, and keeps running what it ran', async (_name, path, reason) => {
    const b = board();
    const u = await offer(b, announce(path));
    expect(u.report()).toMatchObject({ state: 'refused', version: '0.2.0', reason: expect.stringMatching(reason) });
    expect(readlinkSync(join(b.home, 'current'))).toBe(join('slots', 'a'));
    expect(readPending(b.home)).toBeNull();
    expect(b.switched).toEqual([]);
  });

  it('refuses an older release, whatever its signature', async () => {
    const b = board();
    const u = await offer(b, announce('0.0.9', { version: '0.0.9' }));
    expect(u.report()).toMatchObject({ state: 'refused', version: '0.0.9', reason: '0.0.9 is older than the running 0.1.0; boards never go back to an older release' });
  });

  it('refuses an older manifest announced as a newer version (a replayed release)', async () => {
    const b = board();
    const u = await offer(b, announce('0.0.9', { version: '0.3.0' }));
    expect(u.report()).toMatchObject({ state: 'refused', reason: 'the manifest is of version 0.0.9, not the announced 0.3.0' });
  });

  it('refuses a release without a bundle for its architecture, or whose bundle is for another', async () => {
    const b = board();
    let u = await offer(b, announce('0.2.0', { bundles: { arm64: `${server.base}/releases/0.2.0/arm64/` } }));
    expect(u.report()).toMatchObject({ state: 'refused', reason: 'the release has no bundle for x64 (it has arm64)' });
    u = await offer(b, announce('0.2.0', { bundles: { x64: `${server.base}/releases/0.2.0/arm64/` } }));
    expect(u.report()).toMatchObject({ state: 'refused', reason: 'the bundle is for arm64; this board is x64' });
    expect(readlinkSync(join(b.home, 'current'))).toBe(join('slots', 'a'));
  });

  it('does not take again a release that was rolled back on this board', async () => {
    const b = board();
    await b.ready;
    writeResult(b.home, { result: 'rolled_back', version: '0.2.0', reason: 'no healthy heartbeat within 120s' });
    const u = await offer(b, announce('0.2.0'));
    // It keeps reporting the rollback and its reason (the announcement arrives again on every reconnect).
    expect(u.report()).toMatchObject({ state: 'rolled_back', version: '0.2.0', reason: 'no healthy heartbeat within 120s' });
    expect(readlinkSync(join(b.home, 'current'))).toBe(join('slots', 'a'));
    expect(b.steps).toEqual([]);
  });

  it('takes an announcement once, however often it arrives while installing', async () => {
    const b = board();
    await b.ready;
    const u = b.make();
    for (let i = 0; i < 3; i++) u.offer(announce('0.2.0'));
    await u.idle();
    u.offer(announce('0.2.0')); // after the switch, as the gateway's copy of the retained message arrives
    await u.idle();
    expect(b.switched).toEqual(['0.2.0']);
    expect(b.steps).toEqual([...INSTALL_STEPS]);
  });

  it('leaves alone a release for other sites, or outside its rollout share, and takes it when the share grows', async () => {
    const b = board({ device_id: 'pi-7' });
    const bucket = rolloutBucket('pi-7', '0.2.0');
    let u = await offer(b, announce('0.2.0', { sites: ['hewitt'] }));
    expect(u.report().state).toBe('idle');
    u = await offer(b, announce('0.2.0', { share_pct: bucket }));
    expect(u.report().state).toBe('idle');
    u = await offer(b, announce('0.2.0', { share_pct: bucket + 1, sites: ['waco'] }));
    expect(u.report().state).toBe('trial');
  });

  it('spreads a 10 % rollout over about a tenth of a fleet', () => {
    const taken = Array.from({ length: 2_000 }, (_, i) => rolloutBucket(`pi-${i}`, '0.2.0')).filter((b) => b < 10).length;
    expect(taken).toBeGreaterThan(150);
    expect(taken).toBeLessThan(250);
  });

  it('confirms a version on trial once it is healthy, and remembers it as installed', async () => {
    const b = board();
    await offer(b, announce('0.2.0'));
    // The new version starts from slot b: it is on trial until it confirms.
    const next = new Updater(
      { install: { home: b.home, slot: 'b' }, running_version: '0.2.0', arch: 'x64', device_id: 'pi-1', site: 'waco', public_key: null, health_timeout_ms: 60_000, download_timeout_ms: 10_000 },
      { logger: pino({ level: 'silent' }), now: () => Date.now(), onSwitched: () => {} },
    );
    expect(next.onTrial()).toBe(true);
    expect(next.report().state).toBe('trial');
    next.confirmHealthy();
    expect(next.onTrial()).toBe(false);
    expect(readPending(b.home)).toBeNull();
    expect(readResult(b.home)).toEqual({ result: 'installed', version: '0.2.0', reason: null });
    expect(next.report()).toMatchObject({ state: 'installed', version: '0.2.0' });
  });

  it('cleans up a staging folder a power cut left behind', async () => {
    const b = board();
    await b.ready;
    mkdirSync(join(b.home, 'slots', 'b.staging'), { recursive: true });
    cpSync(join(b.home, 'slots', 'a', 'run'), join(b.home, 'slots', 'b.staging', 'leftover'));
    await offer(b, announce('0.2.0'));
    expect(existsSync(join(b.home, 'slots', 'b.staging'))).toBe(false);
    expect(existsSync(join(b.home, 'slots', 'b', 'leftover'))).toBe(false);
    rmSync(b.home, { recursive: true, force: true });
  });
});
