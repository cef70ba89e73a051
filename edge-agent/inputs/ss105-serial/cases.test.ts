/** Golden cases: bytes as they come off the line (input.hex) → samples (expected.jsonl, reviewed by hand). */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sampleLine } from '../tmdd-http/jsonl.ts';
import { binnedSamples } from './driver.ts';
import { decodeBinned, Framer, parseFrame } from './protocol.ts';

const here = join(import.meta.dirname, 'cases');

describe('ss105 golden cases', () => {
  it.each(readdirSync(here))('%s', (name) => {
    const c = JSON.parse(readFileSync(join(here, name, 'case.json'), 'utf8')) as { stations: Record<string, string>; interval_ms: number; rejected: Record<string, number> };
    const bytes = Buffer.from(readFileSync(join(here, name, 'input.hex'), 'utf8').replace(/\s+/g, ''), 'hex');
    const framer = new Framer();
    const lines: string[] = [];
    const rejected: Record<string, number> = {};
    const out: string[] = [];
    // One byte at a time: the outcome must not depend on how the line delivers bytes.
    for (let i = 0; i < bytes.length; i++) lines.push(...framer.push(bytes.subarray(i, i + 1)));
    for (const line of lines) {
      const r = parseFrame(line);
      if (!r.ok) {
        rejected[r.reason] = (rejected[r.reason] ?? 0) + 1;
        continue;
      }
      const data = decodeBinned(r.frame.payload);
      if (typeof data === 'string') throw new Error(data);
      out.push(...binnedSamples(data, c.stations[String(r.frame.drop)]!, c.interval_ms).map(sampleLine));
    }
    expect(out).toEqual(readFileSync(join(here, name, 'expected.jsonl'), 'utf8').trim().split('\n'));
    expect(rejected).toEqual(c.rejected);
  });
});
