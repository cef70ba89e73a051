/** Golden cases: bytes as they come off the line (input.hex) → samples (expected.jsonl, reviewed by hand). */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sampleLine } from '../tmdd-http/jsonl.ts';
import { Ss125ConfigSchema } from './config.ts';
import { intervalSample } from './driver.ts';
import { decodeInterval, Framer } from './protocol.ts';

const here = join(import.meta.dirname, 'cases');

describe('ss125 golden cases', () => {
  it.each(readdirSync(here))('%s', (name) => {
    const c = JSON.parse(readFileSync(join(here, name, 'case.json'), 'utf8')) as { config: unknown; discarded: number };
    const config = Ss125ConfigSchema.parse(c.config);
    const stations = new Map(config.drops.map((d) => [d.drop, d.station_id]));
    const bytes = Buffer.from(readFileSync(join(here, name, 'input.hex'), 'utf8').replace(/\s+/g, ''), 'hex');
    const framer = new Framer();
    const out: string[] = [];
    for (let i = 0; i < bytes.length; i++) {
      for (const f of framer.push(bytes.subarray(i, i + 1))) {
        const r = decodeInterval(f.body);
        if (typeof r === 'string') throw new Error(r);
        const s = intervalSample(r, stations.get(f.src_id)!, config);
        if (s) out.push(sampleLine(s));
      }
    }
    expect(out).toEqual(readFileSync(join(here, name, 'expected.jsonl'), 'utf8').trim().split('\n'));
    expect(framer.discarded).toBe(c.discarded);
  });
});
