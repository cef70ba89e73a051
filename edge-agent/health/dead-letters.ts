/**
 * Payloads an input could not parse, kept for a person to look at: one JSON file each under
 * <data_dir>/dead-letters, with the input, the reason and the payload (base64, cut at max_payload_bytes).
 * Bounded by count and bytes: the oldest files go first. Counted, and the count travels in the heartbeat.
 */
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DeadLetterStore {
  keep(input: string, reason: string, payload: Buffer, now_ms: number): void;
  total(): number;
}

export interface DeadLetterLimits {
  max_files: number;
  max_bytes: number;
  max_payload_bytes: number;
}

export const DEFAULT_DEAD_LETTER_LIMITS: DeadLetterLimits = { max_files: 200, max_bytes: 20 * 1024 * 1024, max_payload_bytes: 1024 * 1024 };

export class FileDeadLetters implements DeadLetterStore {
  private readonly dir: string;
  private readonly limits: DeadLetterLimits;
  private count = 0;
  private n = 0;

  constructor(dir: string, limits: DeadLetterLimits = DEFAULT_DEAD_LETTER_LIMITS) {
    this.dir = dir;
    this.limits = limits;
    mkdirSync(dir, { recursive: true });
  }

  keep(input: string, reason: string, payload: Buffer, now_ms: number): void {
    this.count++;
    const kept = payload.subarray(0, this.limits.max_payload_bytes);
    const name = `${String(now_ms).padStart(15, '0')}-${String(this.n++).padStart(6, '0')}-${input}.json`;
    try {
      writeFileSync(join(this.dir, name), JSON.stringify({ received_ms: now_ms, input, reason, bytes: payload.length, truncated: kept.length < payload.length, payload_base64: kept.toString('base64') }));
      this.rotate();
    } catch {
      // A full disk must not stop the input: the count still goes upstream.
    }
  }

  total(): number {
    return this.count;
  }

  private rotate(): void {
    const files = readdirSync(this.dir).filter((f) => f.endsWith('.json')).sort();
    let bytes = files.reduce((a, f) => a + statSync(join(this.dir, f)).size, 0);
    let left = files.length;
    for (const f of files) {
      if (left <= this.limits.max_files && bytes <= this.limits.max_bytes) break;
      bytes -= statSync(join(this.dir, f)).size;
      rmSync(join(this.dir, f), { force: true });
      left--;
    }
  }
}

/** For agents without a disk: keeps the last few in memory. */
export class MemoryDeadLetters implements DeadLetterStore {
  readonly kept: { input: string; reason: string; payload: Buffer; at_ms: number }[] = [];
  private count = 0;
  private readonly max: number;

  constructor(max = 20) {
    this.max = max;
  }

  keep(input: string, reason: string, payload: Buffer, now_ms: number): void {
    this.count++;
    this.kept.push({ input, reason, payload: payload.subarray(0, 64 * 1024), at_ms: now_ms });
    if (this.kept.length > this.max) this.kept.shift();
  }

  total(): number {
    return this.count;
  }
}
