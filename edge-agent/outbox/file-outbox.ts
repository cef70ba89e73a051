/**
 * The durable outbox: an append-only log of checksummed records in segment files, with acknowledgements in a
 * second log beside it. A bin is on disk (per the fsync policy) before `append` resolves, and it is forgotten
 * only after `accept`: the gateway confirmed it.
 *
 *   <dir>/segments/<first seq, 20 digits>.seg   bin records; a new segment every segment_bytes
 *   <dir>/acks.log                              ack records: seq ranges the gateway confirmed
 *   <dir>/seq                                   sequence high-water mark (FileSeqSource)
 *
 * Recovery reads every segment, keeps each record whose frame and checksum hold, truncates a torn tail off the
 * last segment, skips (and counts) damage anywhere else, and drops bins the ack log already covers. A lost ack
 * only means a resend, which central drops as a duplicate, so acks are written without waiting for fsync.
 *
 * Bounds: past max_bytes the oldest fine bins are merged into coarse_bin_ms bins (totals stay exact, seq is new),
 * and only when nothing is left to coarsen are the oldest dropped; bins older than max_age_ms are dropped. Both
 * are counted by reason.
 */
import { mkdir, open, readdir, readFile, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { alignDown, mergeAll, tryDecode, type Bin } from '../../protocol/index.ts';
import { ERR, WacoflowError } from '../../platform/errors.ts';
import { GroupCommit } from '../../platform/group-commit.ts';
import type { BinDraft } from '../aggregate/binner.ts';
import { rejectIn, takeFrom, type Outbox, type OutboxStats } from './outbox.ts';
import { frame, RecordType, scan } from './records.ts';
import { FileSeqSource } from './seq-file.ts';

export interface FileOutboxOptions {
  dir: string;
  /** group: `append` resolves after an fsync that covers it (concurrent appends share one); interval: fsync every fsync_interval_ms; never: leave it to the OS. */
  fsync: 'group' | 'interval' | 'never';
  fsync_interval_ms: number;
  segment_bytes: number;
  max_bytes: number;
  max_age_ms: number;
  /** Width bins are merged to when the outbox is full (must nest in the 5-minute window). */
  coarse_bin_ms: number;
}

export const DEFAULT_OUTBOX: Omit<FileOutboxOptions, 'dir'> = {
  fsync: 'group',
  fsync_interval_ms: 1_000,
  segment_bytes: 4 * 1024 * 1024,
  max_bytes: 64 * 1024 * 1024,
  max_age_ms: 7 * 86_400_000,
  coarse_bin_ms: 300_000,
};

export interface OutboxCounters {
  appended: number;
  accepted: number;
  degraded: number;
  dropped: Record<string, number>;
  /** Found at start-up. */
  recovered: number;
  corrupt_bytes: number;
  torn_tail_bytes: number;
  last_error: string | null;
}

interface Segment {
  first_seq: number;
  last_seq: number;
  path: string;
  bytes: number;
  live: Set<number>;
}

/** One caller's append, waiting for its group's write; `bins` is filled in by the write. */
interface PendingAppend {
  drafts: (BinDraft & Pick<Bin, 'device_id' | 'clock'>)[];
  bins: Bin[];
}

/** A bound on one group's write, so a burst of appenders cannot build one unbounded buffer. */
const MAX_BINS_PER_WRITE = 4_096;

interface Entry {
  bin: Bin;
  bytes: number;
  segment: Segment;
  inflight: boolean;
}

/**
 * Writes every byte or throws. FileHandle.write may return a short count without an error (a disk filling up
 * mid-write does exactly that); treating that as success would record bins that are not on disk.
 */
async function writeAll(fh: FileHandle, bytes: Buffer): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await fh.write(bytes, done, bytes.length - done);
    if (bytesWritten <= 0) throw Object.assign(new Error('no bytes written'), { code: 'ENOSPC' });
    done += bytesWritten;
  }
}

/** Sorted seqs → [first, last] runs. */
function seqRanges(sorted: number[]): [number, number][] {
  const ranges: [number, number][] = [];
  for (const q of sorted) {
    const last = ranges.at(-1);
    if (last && q === last[1] + 1) last[1] = q;
    else ranges.push([q, q]);
  }
  return ranges;
}

const segmentName = (first_seq: number): string => `${String(first_seq).padStart(20, '0')}.seg`;

function ioError(err: unknown, what: string): WacoflowError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'EFBIG') {
    return new WacoflowError(ERR.OUTBOX_DISK_FULL, `outbox: ${what}: no space left (${code})`, { retriable: true, cause: err });
  }
  return new WacoflowError(ERR.OUTBOX_IO, `outbox: ${what}: ${(err as Error).message}`, { retriable: true, cause: err });
}

export class FileOutbox implements Outbox {
  readonly options: FileOutboxOptions;
  private readonly now: () => number;
  private readonly seq: FileSeqSource;
  private readonly entries = new Map<number, Entry>();
  private segments: Segment[] = [];
  private current: FileHandle | null = null;
  private acks: FileHandle | null = null;
  private acksBytes = 0;
  private pendingBytes = 0;
  private lock: Promise<void> = Promise.resolve();
  /**
   * Group commit of appends: everything submitted while a write and its fsync are in flight goes to disk next, in
   * one write and one fsync, so concurrent appenders share both system calls.
   */
  private readonly appends = new GroupCommit<PendingAppend>({
    flush: (group) => this.commitAppends(group),
    weigh: (p) => p.drafts.length,
    max_weight: MAX_BINS_PER_WRITE,
  });
  private intervalTimer: NodeJS.Timeout | null = null;
  private lastAgeCheck = -Infinity;
  /**
   * Per detector, the end of the newest bin ever written: everything before it is on disk (or was delivered).
   * After a restart the agent skips samples before it, so re-reading a feed's history cannot count a vehicle
   * twice. Derived from the bin records; carried into the ack log before a segment is deleted.
   */
  private readonly marksMap = new Map<string, number>();
  readonly counters: OutboxCounters = { appended: 0, accepted: 0, degraded: 0, dropped: {}, recovered: 0, corrupt_bytes: 0, torn_tail_bytes: 0, last_error: null };

  private constructor(options: FileOutboxOptions, now: () => number) {
    this.options = options;
    this.now = now;
    this.seq = new FileSeqSource(join(options.dir, 'seq'));
  }

  static async open(options: FileOutboxOptions, now: () => number): Promise<FileOutbox> {
    const box = new FileOutbox(options, now);
    await box.recover();
    if (options.fsync === 'interval') {
      box.intervalTimer = setInterval(() => void box.current?.datasync().catch(() => {}), options.fsync_interval_ms);
      box.intervalTimer.unref();
    }
    return box;
  }

  /** Serialises file mutations; the group fsync happens outside, so acknowledgements need not wait for it. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn);
    this.lock = run.then(
      () => {},
      () => {},
    );
    return run;
  }

  private async recover(): Promise<void> {
    const segDir = join(this.options.dir, 'segments');
    await mkdir(segDir, { recursive: true });
    const acked = await this.readAcks();
    const names = (await readdir(segDir)).filter((n) => /^\d{20}\.seg$/.test(n)).sort();
    let maxSeq = -1;
    const replaced: [number, number][] = [];
    for (const [i, name] of names.entries()) {
      const path = join(segDir, name);
      const buf = await readFile(path);
      const result = scan(buf);
      const isLast = i === names.length - 1;
      const tail = buf.length - result.good_end;
      for (const d of result.damaged) {
        // Damage running to the end of the last segment is a write cut short by a crash: truncate it away.
        if (isLast && d.to === buf.length) this.counters.torn_tail_bytes += d.to - d.from;
        else this.counters.corrupt_bytes += d.to - d.from;
      }
      if (isLast && tail > 0) {
        const fh = await open(path, 'r+');
        await fh.truncate(result.good_end);
        await fh.sync();
        await fh.close();
      }
      const segment: Segment = { first_seq: Number(name.slice(0, 20)), last_seq: -1, path, bytes: isLast ? result.good_end : buf.length, live: new Set() };
      for (const r of result.records) {
        if (r.type !== RecordType.bin) continue;
        let raw: unknown;
        try {
          raw = JSON.parse(r.payload.toString('utf8'));
        } catch {
          raw = undefined;
        }
        const d = tryDecode('bin', raw);
        // A coarse bin names the fine bins it replaces, in the same record: both can never come back together.
        const replaces = (raw as { replaces?: unknown } | undefined)?.replaces;
        if (d.ok && Array.isArray(replaces)) for (const pair of replaces) if (Array.isArray(pair) && pair.length === 2) replaced.push([Number(pair[0]), Number(pair[1])]);
        if (!d.ok) {
          this.counters.corrupt_bytes += r.end - r.offset;
          continue;
        }
        maxSeq = Math.max(maxSeq, d.value.seq);
        this.raiseMark(d.value);
        segment.last_seq = Math.max(segment.last_seq, d.value.seq);
        if (acked(d.value.seq) || this.entries.has(d.value.seq)) continue;
        segment.live.add(d.value.seq);
        this.entries.set(d.value.seq, { bin: d.value, bytes: r.end - r.offset, segment, inflight: false });
        this.pendingBytes += r.end - r.offset;
      }
      this.segments.push(segment);
    }
    for (const [a, b] of replaced) {
      for (const e of [...this.entries.values()]) {
        if (e.bin.seq < a || e.bin.seq > b) continue;
        e.segment.live.delete(e.bin.seq);
        this.pendingBytes -= e.bytes;
        this.entries.delete(e.bin.seq);
      }
    }
    this.counters.recovered = this.entries.size;
    await this.seq.atLeast(maxSeq + 1);
    // The ack log (with the marks) is rewritten first; then segments with nothing left to send go. The last
    // one stays, for appends.
    await this.compactAcks();
    for (const s of this.segments.slice(0, -1)) if (s.live.size === 0) await this.removeSegment(s);
  }

  /** Reads acks.log into a membership test over the acknowledged seq ranges. */
  private async readAcks(): Promise<(seq: number) => boolean> {
    const path = join(this.options.dir, 'acks.log');
    const buf = await readFile(path).catch(() => Buffer.alloc(0));
    const ranges: [number, number][] = [];
    for (const r of scan(buf).records) {
      if (r.type === RecordType.marks) {
        try {
          for (const [detector, end] of Object.entries(JSON.parse(r.payload.toString('utf8')) as Record<string, number>)) {
            this.marksMap.set(detector, Math.max(this.marksMap.get(detector) ?? -Infinity, end));
          }
        } catch {
          // checksum held, JSON did not: cannot come from this code
        }
        continue;
      }
      if (r.type !== RecordType.ack) continue;
      try {
        for (const [a, b] of JSON.parse(r.payload.toString('utf8')) as [number, number][]) ranges.push([a, b]);
      } catch {
        // A record whose checksum holds but whose JSON does not cannot come from this code; ignore it.
      }
    }
    ranges.sort((x, y) => x[0] - y[0]);
    return (seq) => {
      let lo = 0;
      let hi = ranges.length - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        const [a, b] = ranges[mid]!;
        if (seq < a) hi = mid - 1;
        else if (seq > b) lo = mid + 1;
        else return true;
      }
      // Ranges may overlap; fall back to a scan of those starting at or before seq.
      for (let i = Math.min(lo, ranges.length - 1); i >= 0 && ranges[i]![0] <= seq; i--) if (ranges[i]![1] >= seq) return true;
      return false;
    };
  }

  /** Rewrites acks.log with only the ranges still needed: acknowledged seqs inside retained segments. */
  private async compactAcks(): Promise<void> {
    const ranges: [number, number][] = [];
    for (const s of this.segments) {
      if (s.last_seq < s.first_seq) continue;
      let start: number | null = null;
      for (let q = s.first_seq; q <= s.last_seq + 1; q++) {
        const ackedHere = q <= s.last_seq && !s.live.has(q);
        if (ackedHere && start === null) start = q;
        if (!ackedHere && start !== null) {
          ranges.push([start, q - 1]);
          start = null;
        }
      }
    }
    const path = join(this.options.dir, 'acks.log');
    const tmp = `${path}.tmp`;
    const fh = await open(tmp, 'w');
    const body = Buffer.concat([
      ranges.length > 0 ? frame(RecordType.ack, Buffer.from(JSON.stringify(ranges))) : Buffer.alloc(0),
      this.marksMap.size > 0 ? frame(RecordType.marks, Buffer.from(JSON.stringify(Object.fromEntries(this.marksMap)))) : Buffer.alloc(0),
    ]);
    await writeAll(fh, body);
    await fh.sync();
    await fh.close();
    await rename(tmp, path);
    // Only now is the old handle let go: a failure above leaves the outbox with the log it had.
    const next = await open(path, 'a');
    const old = this.acks;
    this.acks = next;
    this.acksBytes = body.length;
    await old?.close().catch(() => {});
  }

  /** When a failed write cannot even be truncated away, stop appending to that file. */
  private abandonSegment(): void {
    void this.current?.close().catch(() => {});
    this.current = null;
  }

  private raiseMark(bin: Pick<Bin, 'detector_id' | 'bin_start_ms' | 'bin_ms'>): void {
    const end = bin.bin_start_ms + bin.bin_ms;
    if (end > (this.marksMap.get(bin.detector_id) ?? -Infinity)) this.marksMap.set(bin.detector_id, end);
  }

  /** Per detector, the end of the newest bin ever written (see marksMap). */
  marks(): ReadonlyMap<string, number> {
    return this.marksMap;
  }

  private async removeSegment(s: Segment): Promise<void> {
    // The segment's bins are what the marks were derived from: make the marks durable before they go.
    if (this.acks && this.marksMap.size > 0) {
      await writeAll(this.acks, frame(RecordType.marks, Buffer.from(JSON.stringify(Object.fromEntries(this.marksMap)))));
      await this.acks.datasync();
    }
    await rm(s.path, { force: true });
    this.segments = this.segments.filter((x) => x !== s);
  }

  private async openSegment(first_seq: number): Promise<Segment> {
    const dir = join(this.options.dir, 'segments');
    const path = join(dir, segmentName(first_seq));
    if (this.current) {
      await this.current.datasync();
      await this.current.close();
    }
    this.current = await open(path, 'a');
    // The new file's directory entry must survive a power cut too.
    const d = await open(dir, 'r');
    await d.sync().finally(() => d.close());
    const segment: Segment = { first_seq, last_seq: first_seq - 1, path, bytes: 0, live: new Set() };
    this.segments.push(segment);
    return segment;
  }

  async append(drafts: BinDraft[], stamp: Pick<Bin, 'device_id' | 'clock'>): Promise<Bin[]> {
    if (drafts.length === 0) return [];
    const pending: PendingAppend = { drafts: drafts.map((d) => ({ ...d, ...stamp })), bins: [] };
    await this.appends.submit(pending);
    // The bins are stored: from here on nothing may make the caller think they were not.
    await this.enforceLimits().catch((err: unknown) => {
      this.counters.last_error = `enforcing limits: ${(err as Error).message}`;
    });
    return pending.bins;
  }

  /** Writes a group of appends as one batch, then (group policy) makes it durable with one fsync. */
  private async commitAppends(group: PendingAppend[]): Promise<void> {
    const bins = await this.exclusive(() => this.write(group.flatMap((p) => p.drafts)));
    let at = 0;
    for (const p of group) p.bins = bins.slice(at, (at += p.drafts.length));
    if (this.options.fsync !== 'group') return;
    try {
      if (!this.current) throw new Error('no open segment to fsync');
      await this.current.datasync();
    } catch (err) {
      // Not known to be durable: forget them, so the callers' retries (under new seqs) are the only copies.
      await this.exclusive(() => this.forget(bins.map((b) => b.seq))).catch(() => {});
      throw ioError(err, 'fsync');
    }
  }

  /** Gives drafts their seqs and writes them to the current segment. Call inside `exclusive`. */
  private async write(drafts: (BinDraft & Pick<Bin, 'device_id' | 'clock'> & { replaces?: [number, number][] })[]): Promise<Bin[]> {
    const first = await this.seq.next(drafts.length).catch((err: unknown) => {
      throw ioError(err, 'reserving sequence numbers');
    });
    const bins: Bin[] = drafts.map((d, i) => ({
      device_id: d.device_id, seq: first + i, detector_id: d.detector_id, station_id: d.station_id,
      bin_start_ms: d.bin_start_ms, bin_ms: d.bin_ms, clock: d.clock, measures: d.measures,
    }));
    const frames = bins.map((b, i) => frame(RecordType.bin, Buffer.from(JSON.stringify(drafts[i]!.replaces ? { ...b, replaces: drafts[i]!.replaces } : b))));
    const total = frames.reduce((a, f) => a + f.length, 0);
    let segment = this.segments.at(-1);
    try {
      if (!segment || !this.current || segment.bytes + total > this.options.segment_bytes) segment = await this.openSegment(first);
      await writeAll(this.current!, Buffer.concat(frames));
    } catch (err) {
      // Part of the batch may be on disk. Cut it off: those bins will be written again under new seqs, and a
      // whole frame left behind would come back at recovery as a second copy of the same vehicles.
      if (segment && this.current) {
        await this.current.truncate(segment.bytes).catch(async () => {
          // Cannot cut them off: at least record that these seqs are done, then stop using the file.
          await this.acks?.write(frame(RecordType.ack, Buffer.from(JSON.stringify([[first, first + bins.length - 1]])))).catch(() => {});
          this.abandonSegment();
        });
      }
      this.counters.last_error = (err as Error).message;
      throw ioError(err, 'writing bins');
    }
    segment.bytes += total;
    for (const [i, bin] of bins.entries()) {
      this.raiseMark(bin);
      segment.live.add(bin.seq);
      segment.last_seq = Math.max(segment.last_seq, bin.seq);
      this.entries.set(bin.seq, { bin, bytes: frames[i]!.length, segment, inflight: false });
      this.pendingBytes += frames[i]!.length;
    }
    this.counters.appended += bins.length;
    this.counters.last_error = null;
    return bins;
  }

  waiting(): Bin[] {
    return [...this.entries.values()].map((e) => e.bin);
  }

  take(max: number, filter?: (bin: Bin) => boolean): Bin[] {
    return takeFrom(this.entries.values(), max, filter);
  }

  reject(batch: Bin[]): void {
    rejectIn(this.entries, batch);
  }

  async accept(batch: Bin[]): Promise<void> {
    await this.exclusive(() => this.forget(batch.map((b) => b.seq)));
    this.counters.accepted += batch.length;
  }

  /** Records seqs as done and drops empty segments. Call inside `exclusive`. */
  private async forget(seqs: number[]): Promise<void> {
    const present = seqs.filter((q) => this.entries.has(q)).sort((a, b) => a - b);
    if (present.length === 0) return;
    const rec = frame(RecordType.ack, Buffer.from(JSON.stringify(seqRanges(present))));
    try {
      await writeAll(this.acks!, rec);
    } catch (err) {
      throw ioError(err, 'writing acknowledgements');
    }
    this.acksBytes += rec.length;
    for (const q of present) {
      const e = this.entries.get(q)!;
      e.segment.live.delete(q);
      this.pendingBytes -= e.bytes;
      this.entries.delete(q);
    }
    for (const s of [...this.segments]) if (s !== this.segments.at(-1) && s.live.size === 0) await this.removeSegment(s);
    if (this.acksBytes > 1024 * 1024) await this.compactAcks();
  }

  /** Coarsen, then drop, until under max_bytes; drop what is older than max_age_ms. */
  private async enforceLimits(): Promise<void> {
    const now = this.now();
    if (now - this.lastAgeCheck >= 1_000) {
      // At most once a second: a full pass over what is waiting.
      this.lastAgeCheck = now;
      await this.exclusive(async () => {
        // Chosen under the lock, so the uplink cannot take one of them in between.
        const tooOld = [...this.entries.values()].filter((e) => !e.inflight && now - (e.bin.bin_start_ms + e.bin.bin_ms) > this.options.max_age_ms);
        if (tooOld.length === 0) return;
        await this.forget(tooOld.map((e) => e.bin.seq));
        this.counters.dropped.too_old = (this.counters.dropped.too_old ?? 0) + tooOld.length;
      });
    }
    if (this.pendingBytes <= this.options.max_bytes) return;
    await this.exclusive(async () => {
      // The oldest quarter of what is waiting, fine bins only, merged per detector into coarse bins.
      const target = this.pendingBytes - this.options.max_bytes * 0.75;
      const fine: Entry[] = [];
      let bytes = 0;
      for (const e of this.entries.values()) {
        if (bytes >= target) break;
        if (e.inflight || e.bin.bin_ms >= this.options.coarse_bin_ms) continue;
        fine.push(e);
        bytes += e.bytes;
      }
      const groups = new Map<string, Entry[]>();
      for (const e of fine) {
        const k = `${e.bin.detector_id}\u0000${e.bin.station_id}\u0000${alignDown(e.bin.bin_start_ms, this.options.coarse_bin_ms)}`;
        groups.set(k, [...(groups.get(k) ?? []), e]);
      }
      const merged = [...groups.values()].filter((g) => g.length > 1);
      // Hold the originals: the uplink must not send a bin that is about to be replaced (the write below awaits).
      for (const g of merged) for (const e of g) e.inflight = true;
      if (merged.length > 0) {
        try {
          await this.write(
            merged.map((g) => {
              const b = g[0]!.bin;
              const seqs = g.map((e) => e.bin.seq).sort((x, y) => x - y);
              return {
                device_id: b.device_id, detector_id: b.detector_id, station_id: b.station_id,
                bin_start_ms: alignDown(b.bin_start_ms, this.options.coarse_bin_ms), bin_ms: this.options.coarse_bin_ms,
                clock: { synced: g.every((e) => e.bin.clock.synced), offset_ms: g.at(-1)!.bin.clock.offset_ms },
                measures: mergeAll(g.map((e) => e.bin.measures)),
                replaces: seqRanges(seqs),
              };
            }),
          );
        } catch (err) {
          for (const g of merged) for (const e of g) e.inflight = false;
          throw err;
        }
        if (this.options.fsync !== 'never') await this.current?.datasync();
        const originals = merged.flat().map((e) => e.bin.seq);
        await this.forget(originals);
        this.counters.degraded += originals.length;
      }
      // Nothing (more) to coarsen: drop the oldest until under the limit.
      const victims: number[] = [];
      let over = this.pendingBytes - this.options.max_bytes;
      for (const e of this.entries.values()) {
        if (over <= 0) break;
        if (e.inflight) continue;
        victims.push(e.bin.seq);
        over -= e.bytes;
      }
      if (victims.length > 0) {
        await this.forget(victims);
        this.counters.dropped.outbox_full = (this.counters.dropped.outbox_full ?? 0) + victims.length;
      }
    });
  }

  stats(now_ms: number): OutboxStats {
    let minEnd = Infinity;
    for (const e of this.entries.values()) minEnd = Math.min(minEnd, e.bin.bin_start_ms + e.bin.bin_ms);
    return { depth: this.entries.size, bytes: this.pendingBytes, oldest_age_ms: minEnd === Infinity ? null : Math.max(0, now_ms - minEnd) };
  }

  /** The last segment and its length: everything up to here was fsynced when the last `append` resolved (group policy). */
  durableMark(): { segment: string; bytes: number } | null {
    const s = this.segments.at(-1);
    return s ? { segment: s.path, bytes: s.bytes } : null;
  }

  dropped(): Record<string, number> {
    return { ...this.counters.dropped };
  }

  /** Bytes the outbox's files take on disk (segments and ack log). */
  async diskBytes(): Promise<number> {
    let total = this.acksBytes;
    for (const s of this.segments) total += (await stat(s.path).catch(() => ({ size: 0 }))).size;
    return total;
  }

  async close(): Promise<void> {
    if (this.intervalTimer) clearInterval(this.intervalTimer);
    await this.exclusive(async () => {
      await this.current?.datasync().catch(() => {});
      await this.current?.close();
      await this.acks?.close();
      this.current = null;
      this.acks = null;
    });
  }
}
