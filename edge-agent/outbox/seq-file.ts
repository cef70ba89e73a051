/**
 * Sequence numbers that survive restarts: the file holds a high-water mark reserved in blocks, written to a
 * temporary file, fsynced and renamed over the old one. After a crash the agent resumes above the last
 * reservation, so a number is never reused (a few may be skipped, which is harmless: (device_id, seq) only has
 * to be unique).
 */
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { SeqSource } from './outbox.ts';

const BLOCK = 10_000;

export class FileSeqSource implements SeqSource {
  private readonly path: string;
  private nextSeq = -1;
  private reservedUpTo = -1;

  constructor(path: string) {
    this.path = path;
  }

  /** Never hand out a number below `floor` (the outbox raises it to one above the highest seq it holds). */
  async atLeast(floor: number): Promise<void> {
    await this.next(0);
    if (this.nextSeq < floor) {
      this.nextSeq = floor;
      if (this.nextSeq > this.reservedUpTo) await this.reserve(this.nextSeq + BLOCK);
    }
  }

  async next(count: number): Promise<number> {
    if (this.nextSeq < 0) {
      const stored = await readFile(this.path, 'utf8').then(
        (t) => Number.parseInt(t.trim(), 10),
        () => 0,
      );
      this.nextSeq = Number.isFinite(stored) && stored > 0 ? stored : 0;
      this.reservedUpTo = this.nextSeq;
    }
    const first = this.nextSeq;
    this.nextSeq += count;
    if (this.nextSeq > this.reservedUpTo) await this.reserve(this.nextSeq + BLOCK);
    return first;
  }

  private async reserve(upTo: number): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.tmp`;
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(`${upTo}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.path);
    this.reservedUpTo = upTo;
  }
}

/**
 * For agents with no disk (tests, the in-process simulator without a data directory). By default it starts at
 * the wall-clock time in microseconds, so a restarted process continues above every number it used before
 * (unless the clock steps back, or it issued more than 1000 numbers per millisecond of uptime); 2^53 µs is
 * the year 2255.
 */
export class MemorySeqSource implements SeqSource {
  private n: number;
  constructor(start = Date.now() * 1000) {
    this.n = start;
  }
  async next(count: number): Promise<number> {
    const first = this.n;
    this.n += count;
    return first;
  }
}
