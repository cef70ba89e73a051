import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expecting } from '../../protocol/index.ts';
import type { BinDraft } from '../aggregate/binner.ts';
import { MemoryOutbox } from './memory-outbox.ts';
import { FileSeqSource, MemorySeqSource } from './seq-file.ts';

const T0 = 1_764_230_400_000;
const draft = (i: number): BinDraft => ({ detector_id: `d${i}`, station_id: 'st', bin_start_ms: T0, bin_ms: 60_000, measures: expecting(3) });
const stamp = { device_id: 'agent-1', clock: { synced: true, offset_ms: 0 } };

describe('MemoryOutbox: take, then accept or reject', () => {
  it('numbers bins, hands each out once until rejected, and forgets them only when accepted', async () => {
    let now = T0;
    const box = new MemoryOutbox(new MemorySeqSource(100), () => now);
    const bins = await box.append([draft(1), draft(2), draft(3)], stamp);
    expect(bins.map((b) => b.seq)).toEqual([100, 101, 102]);
    now += 5_000;
    expect(box.stats(now)).toMatchObject({ depth: 3, oldest_age_ms: 5_000 });

    const first = box.take(2);
    expect(first.map((b) => b.seq)).toEqual([100, 101]);
    expect(box.take(5).map((b) => b.seq)).toEqual([102]); // in-flight bins are not handed out twice
    box.reject(first);
    expect(box.take(5).map((b) => b.seq)).toEqual([100, 101]); // back, in order
    await box.accept(first);
    expect(box.stats(now).depth).toBe(1);
    expect(box.take(5)).toEqual([]); // 102 is still in flight
  });
});

describe('FileSeqSource', () => {
  it('never reuses a number after a restart', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'wacoflow-seq-')), 'agent', 'seq');
    const a = new FileSeqSource(path);
    expect(await a.next(3)).toBe(0);
    expect(await a.next(2)).toBe(3);
    const reserved = Number(readFileSync(path, 'utf8'));
    expect(reserved).toBeGreaterThanOrEqual(5);
    const b = new FileSeqSource(path); // a restart, possibly after a crash
    expect(await b.next(1)).toBeGreaterThanOrEqual(5);
  });

  it('starts in-memory sources at the wall clock in microseconds', async () => {
    const before = Date.now() * 1000;
    expect(await new MemorySeqSource().next(1)).toBeGreaterThanOrEqual(before);
  });
});
