import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../platform/clock.ts';
import { ERR, PayloadError } from '../../platform/errors.ts';
import { RunningInput } from '../inputs/running-input.ts';
import { FileDeadLetters } from './dead-letters.ts';

describe('dead letters', () => {
  it('keeps each unparseable payload with its reason, bounded by count, oldest first out', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wacoflow-dl-'));
    const store = new FileDeadLetters(dir, { max_files: 3, max_bytes: 1_000_000, max_payload_bytes: 8 });
    for (let i = 0; i < 5; i++) store.keep('feed', `bad ${i}`, Buffer.from(`payload number ${i}`), 1_000 + i);
    const files = readdirSync(dir).sort();
    expect(files).toHaveLength(3);
    const last = JSON.parse(readFileSync(join(dir, files.at(-1)!), 'utf8'));
    expect(last).toMatchObject({ input: 'feed', reason: 'bad 4', bytes: 16, truncated: true });
    expect(Buffer.from(last.payload_base64, 'base64').toString()).toBe('payload ');
    expect(store.total()).toBe(5);
  });

  it('is fed by the input wrapper, and the input keeps going', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wacoflow-dl-'));
    const store = new FileDeadLetters(dir);
    let n = 0;
    const running = new RunningInput(
      {
        name: 'feed', driver: 'test', sample_interval_ms: 20_000, poll_interval_ms: 20_000,
        read: async () => {
          if (n++ === 0) throw new PayloadError(ERR.FEED_PARSE, 'not well-formed XML', Buffer.from('<oops'));
          return { samples: [], dropped: {} };
        },
      },
      { clock: new ManualClock(0), logger: pino({ level: 'silent' }), onSamples: () => {}, onDropped: () => {}, deadLetters: store },
      { timeout_ms: 1_000, backoff_initial_ms: 1, backoff_max_ms: 1, failed_after: 3, breaker_threshold: 5, breaker_open_ms: 1_000, max_sample_age_ms: 86_400_000, max_sample_future_ms: 300_000 },
    );
    await running.pollOnce();
    await running.pollOnce();
    expect(store.total()).toBe(1);
    expect(running.snapshot().state).toBe('ok');
    const [file] = readdirSync(dir);
    expect(JSON.parse(readFileSync(join(dir, file!), 'utf8'))).toMatchObject({ input: 'feed', reason: 'not well-formed XML' });
  });
});
