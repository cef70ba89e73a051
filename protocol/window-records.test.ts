import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decode, encode } from './decode.ts';
import type { WindowResult } from './v1/window.ts';
import { MAX_WINDOWS_PER_RECORD, WINDOW_BATCH_RECORD, WINDOW_RECORD, windowRecords, windowsOfRecord } from './window-records.ts';

const template = decode('window', readFileSync(new URL('./fixtures/valid/window.json', import.meta.url)));
/** A detector window of station `station` (its key says which), or the station's own. */
const result = (station: string, lane: number | null, revision = 0): WindowResult =>
  lane === null ? { ...template, key: station, revision } : { ...template, level: 'detector', key: `${station}-l${lane}`, revision };
const stationOf = (w: WindowResult) => w.key.replace(/-l\d+$/, '');
const read = (r: { value: Buffer; headers: Record<string, string> }) => {
  const d = windowsOfRecord(r);
  if (!d.ok) throw d.error;
  return d.windows;
};

describe('windows topic records', () => {
  it('hold one record per key, each key’s results in the order they were written', () => {
    const results = [result('a', 1), result('b', 1), result('a', 2), result('a', null), result('c', null), result('b', null), result('a', 1, 1)];
    const records = windowRecords(results, stationOf);
    expect(records.map((r) => [r.key, r.headers.type])).toEqual([['a', WINDOW_BATCH_RECORD], ['b', WINDOW_BATCH_RECORD], ['c', WINDOW_BATCH_RECORD]]);
    expect(records.map((r) => read(r).map((w) => `${w.key}#${w.revision}`))).toEqual([['a-l1#0', 'a-l2#0', 'a#0', 'a-l1#1'], ['b-l1#0', 'b#0'], ['c#0']]);
    expect(records.flatMap(read)).toEqual(expect.arrayContaining(results));
    expect(windowRecords([], stationOf)).toEqual([]);
  });

  it('cut a long run of one key to fit a Kafka record', () => {
    const many = Array.from({ length: MAX_WINDOWS_PER_RECORD * 2 + 1 }, (_, i) => result('a', 1, i));
    const records = windowRecords(many, stationOf);
    expect(records.map((r) => read(r).length)).toEqual([MAX_WINDOWS_PER_RECORD, MAX_WINDOWS_PER_RECORD, 1]);
    expect(records.flatMap(read).map((w) => w.revision)).toEqual(many.map((w) => w.revision));
    expect(Math.max(...records.map((r) => r.value.length))).toBeLessThan(1_000_000);
  });

  it('read the earlier form, one result per record, and say what is wrong with a bad record', () => {
    expect(windowsOfRecord({ value: encode(template), headers: { type: WINDOW_RECORD } })).toEqual({ ok: true, windows: [template] });
    expect(windowsOfRecord({ value: encode(template), headers: {} })).toEqual({ ok: true, windows: [template] });
    const bad = windowsOfRecord({ value: encode({ v: 1, windows: [template, { ...template, observed_fraction: 2 }] }), headers: { type: WINDOW_BATCH_RECORD } });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error.field).toBe('windows.1.observed_fraction');
  });
});
