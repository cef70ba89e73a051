/**
 * Signed updates on the board. An operator's release announcement arrives on a retained topic; if it is for
 * this board (architecture, site, rollout share) and newer than what runs, the updater:
 *
 *   fetch manifest.json + manifest.sig ─▶ verify (Ed25519 with the board's key; architecture; version; expiry)
 *   ─▶ download each file into slots/<other>.staging (files the running slot already has by hash are copied
 *      locally), checking size and SHA-256 ─▶ rename to slots/<other> ─▶ write `pending` ─▶ switch `current`
 *   ─▶ the agent stops cleanly and exits; the launcher starts the new version on trial
 *
 * The new version confirms itself (`confirmHealthy`) once the gateway acknowledged a heartbeat; if it never does,
 * the launcher rolls back. Every step is durable before the next begins, so a power cut at any point leaves a
 * `current` that points at a complete, verified slot (edge-agent/update/install-state.ts, the launcher).
 */
import { createHash } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { closeSync, copyFileSync, fchmodSync, fsyncSync, linkSync, mkdirSync, openSync, renameSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { tryDecode, type Arch, type ReleaseAnnouncement, type UpdateReport } from '../../protocol/index.ts';
import { httpGet, httpGetStream } from '../inputs/http-get.ts';
import { fsyncPath, removeDurably, writeFileDurably } from '../../platform/durable-file.ts';
import { currentSlot, other, readPending, readResult, switchCurrent, writePending, writeResult, type Slot } from './install-state.ts';
import { MANIFEST_FILE, parseManifest, readManifest, SIGNATURE_FILE, type BundleManifest } from './manifest.ts';
import { verifyManifestSignature } from './signature.ts';
import { compareVersions } from './version.ts';

/** The durable steps of an install, in order: each is on disk before the next begins. */
export const INSTALL_STEPS = ['verified', 'downloaded', 'staged', 'pending', 'switched'] as const;
export type InstallStep = (typeof INSTALL_STEPS)[number];

export interface UpdaterOptions {
  /** The A/B install the agent runs from; null when it runs from anywhere else (updates are then off). */
  install: { home: string; slot: Slot } | null;
  running_version: string;
  arch: Arch;
  device_id: string;
  site: string;
  /** The release public key; null: updates are off. */
  public_key: KeyObject | null;
  /** How long a new version has to report healthy before the launcher rolls it back. */
  health_timeout_ms: number;
  /** The longest one file's download may take. */
  download_timeout_ms: number;
}

export interface UpdaterDeps {
  logger: Logger;
  now(): number;
  /** Each durable step of an install, as it completes. */
  onStep?(step: InstallStep, version: string): void;
  /** The report changed (send a heartbeat). */
  onReport?(): void;
  /** `current` now points at the new version: stop cleanly and exit so that the launcher starts it. */
  onSwitched(version: string): void;
}

/** The board's rollout bucket for a release, 0–99: stable, so widening a rollout keeps the boards it had. */
export function rolloutBucket(device_id: string, version: string): number {
  return createHash('sha256').update(`${device_id}\n${version}`).digest().readUInt32BE(0) % 100;
}

class Refusal extends Error {}

export class Updater {
  private readonly o: UpdaterOptions;
  private readonly deps: UpdaterDeps;
  private state: UpdateReport;
  private busy: Promise<void> | null = null;
  private next: ReleaseAnnouncement | null = null;
  private switched = false;

  constructor(options: UpdaterOptions, deps: UpdaterDeps) {
    this.o = options;
    this.deps = deps;
    this.state = this.initialReport();
  }

  report(): UpdateReport {
    return this.state;
  }

  /** Whether this process is a new version on trial (the launcher rolls it back unless it confirms). */
  onTrial(): boolean {
    const i = this.o.install;
    if (!i) return false;
    const p = readPending(i.home);
    return p !== null && p.slot === i.slot && currentSlot(i.home) === i.slot;
  }

  /** Called once the gateway acknowledged a heartbeat: a version on trial has proved itself and stays. */
  confirmHealthy(): void {
    if (!this.onTrial()) return;
    const home = this.o.install!.home;
    writeResult(home, { result: 'installed', version: this.o.running_version, reason: null });
    removeDurably(join(home, 'pending'));
    this.deps.logger.info({ version: this.o.running_version }, 'update: this version reported healthy and stays');
    this.setReport('installed', this.o.running_version, null);
  }

  /** A message on the release topic. Announcements are handled one at a time; the latest waiting one next. */
  offer(payload: Buffer): void {
    if (payload.length === 0) return; // an operator withdrew the announcement
    const d = tryDecode('release_announcement', payload);
    if (!d.ok) {
      this.setReport('refused', null, `announcement unreadable: ${d.error.message}`);
      return;
    }
    if (this.switched) return; // a new version is in place and this process is about to stop
    this.next = d.value;
    if (!this.busy) this.busy = this.drain().finally(() => (this.busy = null));
  }

  /** Resolves when no announcement is being handled (for tests and a clean stop). */
  async idle(): Promise<void> {
    while (this.busy) await this.busy;
  }

  private async drain(): Promise<void> {
    while (this.next) {
      const a = this.next;
      this.next = null;
      try {
        await this.consider(a);
      } catch (err) {
        const refused = err instanceof Refusal;
        this.deps.logger[refused ? 'warn' : 'error']({ version: a.version, reason: (err as Error).message }, refused ? 'update refused' : 'update failed');
        this.setReport(refused ? 'refused' : 'failed', a.version, (err as Error).message);
      }
    }
  }

  private initialReport(): UpdateReport {
    const now = this.deps.now();
    const i = this.o.install;
    const result = i ? readResult(i.home) : null;
    if (this.onTrial()) return { state: 'trial', version: this.o.running_version, reason: null, ts_ms: now };
    if (result?.result === 'rolled_back') return { state: 'rolled_back', version: result.version, reason: result.reason, ts_ms: now };
    if (result?.result === 'installed' && result.version === this.o.running_version) return { state: 'installed', version: result.version, reason: null, ts_ms: now };
    return { state: 'idle', version: null, reason: null, ts_ms: now };
  }

  private setReport(state: UpdateReport['state'], version: string | null, reason: string | null): void {
    this.state = { state, version, reason, ts_ms: this.deps.now() };
    this.deps.onReport?.();
  }

  private forThisBoard(a: ReleaseAnnouncement): boolean {
    if (a.sites && !a.sites.includes(this.o.site)) return false;
    return rolloutBucket(this.o.device_id, a.version) < a.share_pct;
  }

  private async consider(a: ReleaseAnnouncement): Promise<void> {
    if (!this.forThisBoard(a)) {
      this.deps.logger.debug({ version: a.version }, 'release not for this board (site or rollout share)');
      return;
    }
    const order = compareVersions(a.version, this.o.running_version);
    if (order === 0) return; // what runs already
    if (order < 0) throw new Refusal(`${a.version} is older than the running ${this.o.running_version}; boards never go back to an older release`);
    const rolledBack = this.o.install ? readResult(this.o.install.home) : null;
    if (rolledBack?.result === 'rolled_back' && rolledBack.version === a.version) {
      // The announcement stays retained after a rollback and arrives again on every reconnect: the report keeps
      // saying what happened to it rather than turning into a refusal that hides the reason.
      if (this.state.state !== 'rolled_back' || this.state.version !== a.version) this.setReport('rolled_back', a.version, rolledBack.reason);
      this.deps.logger.debug({ version: a.version }, 'release was rolled back on this board before; not taking it again');
      return;
    }
    if (!this.o.install) throw new Refusal('updates are off: the agent does not run from an A/B install (/opt/wacoflow/slots), see docs/edge-boards.md');
    if (!this.o.public_key) throw new Refusal('updates are off: no release public key configured (update.public_key_file)');
    const base = a.bundles[this.o.arch];
    if (!base) throw new Refusal(`the release has no bundle for ${this.o.arch} (it has ${Object.keys(a.bundles).join(', ') || 'none'})`);
    await this.install(a.version, base.endsWith('/') ? base : `${base}/`);
  }

  private async install(version: string, base: string): Promise<void> {
    const { home, slot } = this.o.install!;
    this.setReport('downloading', version, null);
    const signal = () => AbortSignal.timeout(this.o.download_timeout_ms);
    const manifestBytes = (await httpGet(`${base}${MANIFEST_FILE}`, { headers: {}, signal: signal(), max_bytes: 1 << 20 })).body;
    const signature = await httpGet(`${base}${SIGNATURE_FILE}`, { headers: {}, signal: signal(), max_bytes: 4_096 }).then(
      (r) => r.body.toString('utf8'),
      (err: unknown) => {
        throw new Refusal(`unsigned: no ${SIGNATURE_FILE} beside the manifest (${(err as Error).message})`);
      },
    );
    if (!verifyManifestSignature(manifestBytes, signature, this.o.public_key!)) {
      throw new Refusal('the signature does not verify with this board\'s release key: the manifest was changed after signing, or signed with another key');
    }
    let manifest: BundleManifest;
    try {
      manifest = parseManifest(manifestBytes, `${base}${MANIFEST_FILE}`);
    } catch (err) {
      throw new Refusal((err as Error).message);
    }
    if (manifest.arch !== this.o.arch) throw new Refusal(`the bundle is for ${manifest.arch}; this board is ${this.o.arch}`);
    if (manifest.version !== version) throw new Refusal(`the manifest is of version ${manifest.version}, not the announced ${version}`);
    if (compareVersions(manifest.version, this.o.running_version) <= 0) throw new Refusal(`${manifest.version} is not newer than the running ${this.o.running_version}`);
    if (manifest.expires_ms !== null && manifest.expires_ms < this.deps.now()) throw new Refusal(`the manifest expired at ${new Date(manifest.expires_ms).toISOString()}`);
    this.step('verified', version);

    const target = other(slot);
    const slots = join(home, 'slots');
    const staging = join(slots, `${target}.staging`);
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    const running = this.runningFiles(join(slots, slot));
    const toFetch = manifest.files.filter((f) => running.get(f.path) !== f.sha256);
    const needed = toFetch.reduce((n, f) => n + f.size, 0);
    const fs = statfsSync(slots);
    const free = fs.bavail * fs.bsize;
    if (needed + 16 * 1024 * 1024 > free) throw new Refusal(`not enough disk space: the download needs ${(needed / 1e6).toFixed(1)} MB, ${(free / 1e6).toFixed(1)} MB free`);
    this.setReport('installing', version, null);
    for (const f of manifest.files) {
      const dest = join(staging, ...f.path.split('/'));
      mkdirSync(dirname(dest), { recursive: true });
      if (running.get(f.path) === f.sha256) {
        // The running slot has this very file (the Node runtime, usually): no need to send it over the air.
        try {
          linkSync(join(slots, slot, ...f.path.split('/')), dest);
        } catch {
          copyFileSync(join(slots, slot, ...f.path.split('/')), dest);
        }
      } else {
        await this.download(`${base}${f.path.split('/').map(encodeURIComponent).join('/')}`, dest, f, signal()).catch((err: unknown) => {
          // A server that cannot be reached is worth another try (the announcement comes again on reconnect); a
          // body that is not what was signed is refused.
          if (err instanceof Refusal || (err as { retriable?: boolean }).retriable) throw err;
          throw new Refusal(`${f.path}: ${(err as Error).message}`);
        });
      }
    }
    writeFileDurably(join(staging, MANIFEST_FILE), manifestBytes.toString('utf8'));
    writeFileDurably(join(staging, SIGNATURE_FILE), signature);
    this.step('downloaded', version);

    rmSync(join(slots, target), { recursive: true, force: true });
    renameSync(staging, join(slots, target));
    fsyncPath(slots);
    this.step('staged', version);
    writePending(home, { slot: target, previous: slot, version, health_timeout_s: Math.ceil(this.o.health_timeout_ms / 1000), starts: 0 });
    this.step('pending', version);
    switchCurrent(home, target);
    this.step('switched', version);
    this.deps.logger.info({ version, slot: target, downloaded_bytes: needed }, 'update installed; restarting into it');
    this.switched = true;
    this.next = null;
    this.setReport('trial', version, null);
    this.deps.onSwitched(version);
  }

  private step(step: InstallStep, version: string): void {
    this.deps.logger.info({ version, step }, `update: ${step}`);
    this.deps.onStep?.(step, version);
  }

  /** The running slot's files by path → SHA-256, from its manifest (empty if it has none). */
  private runningFiles(dir: string): Map<string, string> {
    try {
      return new Map(readManifest(dir).files.map((f) => [f.path, f.sha256]));
    } catch {
      return new Map();
    }
  }

  private async download(url: string, dest: string, f: BundleManifest['files'][number], signal: AbortSignal): Promise<void> {
    const hash = createHash('sha256');
    const fd = openSync(dest, 'w', f.exec ? 0o755 : 0o644);
    try {
      const size = await httpGetStream(url, { headers: {}, signal, max_bytes: f.size }, (chunk) => {
        hash.update(chunk);
        writeSync(fd, chunk);
      });
      if (size !== f.size) throw new Refusal(`${f.path}: ${size} bytes arrived, the manifest says ${f.size}`);
      if (hash.digest('hex') !== f.sha256) throw new Refusal(`${f.path}: SHA-256 differs from the signed manifest (changed on the server or in transit)`);
      fchmodSync(fd, f.exec ? 0o755 : 0o644);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}
