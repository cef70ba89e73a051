import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mergeAll, summarise } from '../../protocol/index.ts';
import { DEFAULT_OUTBOX, FileOutbox, type FileOutboxOptions } from './file-outbox.ts';
import { draft, outboxContract, stamp, T0 } from './outbox-contract.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'wacoflow-outbox-'));
const openAt = (dir: string, o: Partial<FileOutboxOptions> = {}, now = T0) => FileOutbox.open({ ...DEFAULT_OUTBOX, dir, ...o }, () => now);
const segments = (dir: string) => readdirSync(join(dir, 'segments')).sort().map((n) => join(dir, 'segments', n));

outboxContract('on disk', () => openAt(tmp()));

describe('FileOutbox recovery', () => {
  it('keeps unacknowledged bins across a restart, forgets acknowledged ones, and never reuses a seq', async () => {
    const dir = tmp();
    const a = await openAt(dir);
    const bins = await a.append(Array.from({ length: 10 }, (_, i) => draft(i)), stamp);
    await a.accept(a.take(4));
    await a.close();

    const b = await openAt(dir);
    expect(b.counters.recovered).toBe(6);
    expect(b.take(100)).toEqual(bins.slice(4));
    const [next] = await b.append([draft(11)], stamp);
    expect(next!.seq).toBeGreaterThan(bins.at(-1)!.seq);
    await b.close();
  });

  it('cuts a torn tail off at any byte and keeps every record before it', async () => {
    const dir = tmp();
    const a = await openAt(dir);
    const bins = await a.append(Array.from({ length: 5 }, (_, i) => draft(i)), stamp);
    await a.close();
    const [seg] = segments(dir);
    const full = readFileSync(seg!);
    const seqFile = readFileSync(join(dir, 'seq'));
    for (const cut of [full.length - 1, full.length - 13, Math.floor(full.length / 2), 7, 0]) {
      const copy = tmp(); // a board that lost power while this segment was being written
      mkdirSync(join(copy, 'segments'));
      const copySeg = join(copy, 'segments', basename(seg!));
      writeFileSync(copySeg, full.subarray(0, cut));
      writeFileSync(join(copy, 'seq'), seqFile);
      const b = await openAt(copy);
      const got = b.take(100);
      expect(got).toEqual(bins.slice(0, got.length)); // a prefix, intact
      expect(got.length).toBeGreaterThanOrEqual(cut === full.length - 1 ? 4 : 0);
      expect(statSync(copySeg).size).toBeLessThanOrEqual(cut); // the torn bytes are gone
      const [after] = await b.append([draft(9)], stamp);
      expect(after!.seq).toBeGreaterThan(bins.at(-1)!.seq); // the seq file remembers what was issued
      await b.close();
    }
  });

  it('skips a damaged record in the middle and passes on only intact ones', async () => {
    const dir = tmp();
    const a = await openAt(dir);
    const bins = await a.append(Array.from({ length: 6 }, (_, i) => draft(i)), stamp);
    await a.close();
    const [seg] = segments(dir);
    const buf = readFileSync(seg!);
    buf[Math.floor(buf.length / 2)]! ^= 0xff; // one flipped byte inside some record
    writeFileSync(seg!, buf);
    appendFileSync(seg!, Buffer.from('garbage after the end'));
    const b = await openAt(dir);
    const got = b.take(100);
    expect(got.length).toBe(5);
    for (const g of got) expect(bins).toContainEqual(g);
    expect(b.counters.corrupt_bytes).toBeGreaterThan(0);
    expect(b.counters.torn_tail_bytes).toBe('garbage after the end'.length);
    await b.close();
  });

  it('rolls segments and deletes each one once everything in it is acknowledged', async () => {
    const dir = tmp();
    const a = await openAt(dir, { segment_bytes: 2_000 });
    for (let i = 0; i < 10; i++) await a.append(Array.from({ length: 4 }, (_, j) => draft(i * 4 + j)), stamp);
    expect(segments(dir).length).toBeGreaterThan(3);
    while (a.stats(T0).depth > 0) await a.accept(a.take(7));
    expect(segments(dir).length).toBe(1); // the one still open for appends
    await a.close();
    const b = await openAt(dir);
    expect(b.stats(T0).depth).toBe(0);
    await b.close();
  });

  it('when full, merges the oldest fine bins into 5-minute bins with exact totals before dropping anything', async () => {
    const dir = tmp();
    const a = await openAt(dir, { max_bytes: 40_000 });
    const drafts = Array.from({ length: 200 }, (_, i) => draft(i));
    for (let i = 0; i < drafts.length; i += 10) await a.append(drafts.slice(i, i + 10), stamp);
    const left = a.take(10_000);
    expect(a.counters.degraded).toBeGreaterThan(0);
    expect(a.counters.dropped).toEqual({});
    expect(left.some((b) => b.bin_ms === 300_000)).toBe(true);
    const sum = summarise(mergeAll(left.map((b) => b.measures)));
    expect(sum.volume).toBe(drafts.reduce((s, d) => s + d.measures.volume!, 0)); // every vehicle still there
    expect(left.reduce((s, b) => s + b.measures.samples_seen, 0)).toBe(600);
    await a.close();
  });

  it('drops the oldest, counted, only when nothing is left to coarsen', async () => {
    const dir = tmp();
    const a = await openAt(dir, { max_bytes: 4_000 });
    for (let i = 0; i < 40; i++) await a.append([draft(i, 300_000)], stamp);
    expect(a.counters.dropped.outbox_full).toBeGreaterThan(0);
    expect(a.stats(T0).bytes).toBeLessThanOrEqual(4_000);
    await a.close();
  });

  it('drops bins older than max_age_ms, counted', async () => {
    const dir = tmp();
    const a = await openAt(dir, { max_age_ms: 3_600_000 }, T0 + 2 * 3_600_000);
    await a.append([draft(1), draft(2)], stamp);
    expect(a.counters.dropped.too_old).toBe(2);
    expect(a.stats(T0).depth).toBe(0);
    await a.close();
  });

  it('recovers when the ack log itself is torn', async () => {
    const dir = tmp();
    const a = await openAt(dir);
    await a.append(Array.from({ length: 4 }, (_, i) => draft(i)), stamp);
    await a.accept(a.take(2));
    await a.close();
    const acks = join(dir, 'acks.log');
    truncateSync(acks, statSync(acks).size - 3);
    const b = await openAt(dir);
    // The torn ack is lost, so its bins come back: a resend, which central drops as a duplicate. Nothing is lost.
    expect(b.stats(T0).depth).toBeGreaterThanOrEqual(2);
    await b.close();
  });
});

describe('FileOutbox marks', () => {
  it('remembers, per detector, the end of the newest bin written, across restarts and deleted segments', async () => {
    const dir = tmp();
    const a = await openAt(dir, { segment_bytes: 1_500 });
    await a.append([draft(0), draft(1), draft(4)], stamp); // d0 to T0+120s (draft 4 is d0's second minute), d1 to T0+60s
    for (let i = 0; i < 6; i++) await a.append([draft(2 + 4 * i)], stamp); // d2, rolling segments
    while (a.stats(T0).depth > 0) await a.accept(a.take(100)); // everything delivered: old segments deleted
    expect(Object.fromEntries(a.marks())).toMatchObject({ d0: T0 + 120_000, d1: T0 + 60_000, d2: T0 + 360_000 });
    await a.close();
    const b = await openAt(dir);
    expect(Object.fromEntries(b.marks())).toMatchObject({ d0: T0 + 120_000, d1: T0 + 60_000, d2: T0 + 360_000 });
    await b.close();
  });
});

describe('FileOutbox coarsening, crash-safe', () => {
  it('never lets a fine bin and the coarse bin that replaced it both come back, even if the ack was lost', async () => {
    const dir = tmp();
    const a = await openAt(dir, { max_bytes: 40_000 });
    const drafts = Array.from({ length: 200 }, (_, i) => draft(i));
    for (let i = 0; i < drafts.length; i += 10) await a.append(drafts.slice(i, i + 10), stamp);
    expect(a.counters.degraded).toBeGreaterThan(0);
    await a.close();
    // Lose every acknowledgement: as if the power went before the ack log reached the disk.
    writeFileSync(join(dir, 'acks.log'), Buffer.alloc(0));
    const b = await openAt(dir, { max_bytes: 1024 * 1024 * 1024 });
    const back = b.take(100_000);
    const total = back.reduce((s, x) => s + (x.measures.volume ?? 0), 0);
    expect(total).toBe(drafts.reduce((s, d) => s + d.measures.volume!, 0));
    await b.close();
  });

  it('does not coarsen a bin the uplink has in flight', async () => {
    const dir = tmp();
    const a = await openAt(dir, { max_bytes: 40_000 });
    const first = await a.append(Array.from({ length: 10 }, (_, i) => draft(i)), stamp);
    const sending = a.take(10); // the uplink has these
    for (let i = 10; i < 200; i += 10) await a.append(Array.from({ length: 10 }, (_, j) => draft(i + j)), stamp);
    await a.accept(sending); // their PUBACK
    const rest = a.take(100_000);
    expect(rest.some((b) => first.some((f) => f.seq === b.seq))).toBe(false);
    const sent = sending.reduce((s, x) => s + (x.measures.volume ?? 0), 0);
    const left = rest.reduce((s, x) => s + (x.measures.volume ?? 0), 0);
    expect(sent + left).toBe(Array.from({ length: 200 }, (_, i) => i).reduce((s, v) => s + v, 0));
    await a.close();
  });
});
