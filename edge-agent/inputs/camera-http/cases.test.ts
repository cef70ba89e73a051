/** Golden cases: a camera's JSON (input.json) → samples (expected.jsonl, reviewed by hand). */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sampleLine } from '../tmdd-http/jsonl.ts';
import { CameraMappingSchema } from './config.ts';
import { parseCameraCounts } from './parse.ts';

const here = join(import.meta.dirname, 'cases');

describe('camera-http golden cases', () => {
  it.each(readdirSync(here))('%s', (name) => {
    const c = JSON.parse(readFileSync(join(here, name, 'case.json'), 'utf8')) as { station_template: string; interval_ms: number; mapping: unknown; dropped: Record<string, number> };
    const r = parseCameraCounts(JSON.parse(readFileSync(join(here, name, 'input.json'), 'utf8')), { ...c, mapping: CameraMappingSchema.parse(c.mapping) });
    expect(r.samples.map(sampleLine)).toEqual(readFileSync(join(here, name, 'expected.jsonl'), 'utf8').trim().split('\n'));
    expect(r.dropped).toEqual(c.dropped);
  });
});
