/**
 * A full disk, for real: the outbox lives on a 256 KiB tmpfs (mounting needs root, as CI has). The agent's
 * sealer keeps the bins the outbox refuses, reports why, and delivers them once space returns.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sample } from '../../protocol/index.ts';
import { Binner } from '../aggregate/binner.ts';
import { Sealer } from '../aggregate/sealer.ts';
import { DEFAULT_OUTBOX, FileOutbox } from './file-outbox.ts';

function canMount(): boolean {
  return process.getuid?.() === 0;
}

const T0 = Date.UTC(2026, 10, 24, 23, 0, 0);
const samples = (minute: number, lanes: number): Sample[] =>
  Array.from({ length: lanes }, (_, i) => ({
    detector_id: `d${i}`, station_id: 'st', start_ms: T0 + minute * 60_000, duration_ms: 20_000, volume: 3, occupancy_pct: 4, speed_kmh: 90, status: 'ok' as const,
  }));

describe.skipIf(!canMount() && process.env.WACOFLOW_REQUIRE_SERVICES !== '1')('outbox on a full disk', () => {
  const mnt = mkdtempSync(join(tmpdir(), 'wacoflow-full-'));
  beforeAll(() => {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt]);
  });
  afterAll(() => {
    execFileSync('umount', ['-l', mnt]);
  });

  it('reports the full disk, keeps the refused bins, and delivers them when space returns', async () => {
    const outbox = await FileOutbox.open({ ...DEFAULT_OUTBOX, dir: join(mnt, 'outbox'), segment_bytes: 32 * 1024 }, () => T0);
    const filler = join(mnt, 'filler');
    writeFileSync(filler, Buffer.alloc(200 * 1024)); // most of the disk
    const binner = new Binner(60_000, 0);
    const errors: (string | null)[] = [];
    const sealer = new Sealer(
      { binner, outbox, stamp: () => ({ device_id: 'a', clock: { synced: true, offset_ms: 0 } }), onDropped: () => {}, onOutboxError: (e) => errors.push(e?.message ?? null) },
      100_000,
    );
    let minute = 0;
    while (sealer.error() === null && minute < 500) {
      binner.add(samples(minute, 50), 20_000);
      minute++;
      await sealer.flush(T0 + minute * 60_000);
    }
    expect(sealer.error()).toMatch(/no space left/);
    const waiting = sealer.pending();
    expect(waiting).toBeGreaterThan(0);
    const stored = outbox.stats(T0).depth;

    rmSync(filler); // space returns
    await sealer.flush(T0 + minute * 60_000);
    expect(sealer.error()).toBeNull();
    expect(sealer.pending()).toBe(0);
    expect(outbox.stats(T0).depth).toBe(stored + waiting);
    expect(errors.at(-1)).toBeNull();
    await outbox.close();

    // What the outbox holds after the episode is intact: it reopens with every bin.
    const again = await FileOutbox.open({ ...DEFAULT_OUTBOX, dir: join(mnt, 'outbox'), segment_bytes: 32 * 1024 }, () => T0);
    expect(again.stats(T0).depth).toBe(stored + waiting);
    await again.close();
  });
});
