/**
 * Crash safety of the on-disk outbox, with real processes: a writer is killed with SIGKILL at 50 random moments
 * (20 unless WACOFLOW_TEST_SCALE=full, test/scale.ts)
 * while it appends and acknowledges, and after every other kill a power cut is simulated by cutting the segment
 * being written at a random byte past what had been fsynced (or, when the kill left nothing unsynced, by leaving a
 * torn fragment there, as a cut in the middle of a write does). After each restart: nothing that was reported
 * durable and not acknowledged is missing, every recovered bin is exactly what was written, and no seq is ever
 * issued twice.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_OUTBOX, FileOutbox } from './file-outbox.ts';
import { scaled } from '../../test/scale.ts';

const ROUNDS = scaled(20, 50);
const WRITER = join(import.meta.dirname, 'crash-writer.ts');

interface Round {
  durable: Map<number, number>; // seq → volume
  acked: Set<number>;
  /** Being acknowledged when the kill came: either outcome is correct. */
  acking: Set<number>;
  lastMark: { segment: string; bytes: number } | null;
}

function runAndKill(dir: string, after_ms: number): Promise<Round> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    const round: Round = { durable: new Map(), acked: new Set(), acking: new Set(), lastMark: null };
    let buf = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const line of lines) {
        if (line === 'READY') setTimeout(() => child.kill('SIGKILL'), after_ms);
        else if (line.startsWith('D ')) {
          const [, pairs, segment, bytes] = line.split(' ');
          for (const p of pairs!.split(',')) {
            const [seq, volume] = p.split(':').map(Number);
            round.durable.set(seq!, volume!);
          }
          round.lastMark = { segment: segment!, bytes: Number(bytes) };
        } else if (line.startsWith('T ') && line.length > 2) for (const q of line.slice(2).split(',')) round.acking.add(Number(q));
        else if (line.startsWith('A ') && line.length > 2) for (const q of line.slice(2).split(',')) round.acked.add(Number(q));
      }
    });
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve(round) : reject(new Error(`writer exited ${code}: ${stderr}`))));
  });
}

describe('FileOutbox under SIGKILL and power cuts', () => {
  it(`loses nothing durable, passes on nothing corrupt and never repeats a seq over ${ROUNDS} kills`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wacoflow-crash-'));
    const issued = new Map<number, number>(); // every seq ever reported, with its volume
    const acked = new Set<number>();
    const powerCuts = { truncated: 0, torn: 0 };
    for (let round = 0; round < ROUNDS; round++) {
      const r = await runAndKill(dir, 20 + Math.floor(Math.random() * 200));
      for (const [seq, volume] of r.durable) {
        expect(issued.has(seq), `seq ${seq} issued twice`).toBe(false);
        issued.set(seq, volume);
      }
      for (const q of r.acking) acked.add(q); // acknowledged, or about to be: it may be gone, and that is right
      for (const q of r.acked) acked.add(q);
      if (round % 2 === 1 && r.lastMark) {
        // Power cut: bytes written after the last fsync may vanish, cut anywhere past the durable mark.
        const size = statSync(r.lastMark.segment, { throwIfNoEntry: false })?.size;
        if (size !== undefined && size > r.lastMark.bytes) {
          truncateSync(r.lastMark.segment, r.lastMark.bytes + Math.floor(Math.random() * (size - r.lastMark.bytes)));
          powerCuts.truncated++;
        } else if (size === r.lastMark.bytes) {
          // Everything written was synced when the kill came: a cut mid-write leaves a fragment of garbage instead.
          appendFileSync(r.lastMark.segment, randomBytes(1 + Math.floor(Math.random() * 200)));
          powerCuts.torn++;
        }
      }
      const box = await FileOutbox.open({ ...DEFAULT_OUTBOX, dir, segment_bytes: 8_192 }, () => 0);
      const pending = box.take(1_000_000);
      const pendingSeqs = new Set(pending.map((b) => b.seq));
      expect(pendingSeqs.size).toBe(pending.length);
      for (const b of pending) {
        // Recovered bins are exactly what was written (bins written but killed before reporting are allowed).
        if (issued.has(b.seq)) expect(b.measures.volume).toBe(issued.get(b.seq));
      }
      for (const [seq] of issued) {
        if (!acked.has(seq)) expect(pendingSeqs.has(seq), `durable seq ${seq} lost after round ${round}`).toBe(true);
      }
      await box.close();
    }
    expect(issued.size).toBeGreaterThan(ROUNDS); // the writer really wrote between kills
    expect(powerCuts.truncated + powerCuts.torn).toBeGreaterThan(ROUNDS / 4); // most odd rounds really cut power
  }, 180_000);
});
