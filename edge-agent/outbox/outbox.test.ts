import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemoryOutbox } from './memory-outbox.ts';
import { outboxContract, T0 } from './outbox-contract.ts';
import { FileSeqSource, MemorySeqSource } from './seq-file.ts';

outboxContract('in memory', async () => new MemoryOutbox(new MemorySeqSource(100)));

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
    await b.atLeast(1_000_000);
    expect(await b.next(1)).toBe(1_000_000);
  });

  it('starts in-memory sources at the wall clock in microseconds', async () => {
    const before = Date.now() * 1000;
    expect(await new MemorySeqSource().next(1)).toBeGreaterThanOrEqual(before);
  });
});
