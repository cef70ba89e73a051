import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BIN_BATCH_RECORD, BIN_RECORD, binRecords, binsOfRecord, MAX_BINS_PER_RECORD } from './bin-records.ts';
import { decode, encode } from './decode.ts';
import type { Bin, BinBatch } from './v1/bin.ts';

const batch = decode('bin_batch', readFileSync(new URL('./fixtures/valid/bin_batch.json', import.meta.url)));
const template = batch.bins[0]!;
const binAt = (seq: number, station_id: string): Bin => ({ ...template, seq, station_id, detector_id: `${station_id}-l1` });
const message = (bins: Bin[]): BinBatch => ({ v: 1, device_id: template.device_id, sent_ms: batch.sent_ms, bins });

describe('bins topic records', () => {
  it('split an agent message into a record per station, keyed by it, each station’s bins in order', () => {
    const bins = [binAt(1, 'a'), binAt(2, 'b'), binAt(3, 'a'), binAt(4, 'c'), binAt(5, 'b')];
    const records = binRecords(message(bins), encode(message(bins)));
    expect(records.map((r) => [r.key, r.headers.type])).toEqual([['a', BIN_BATCH_RECORD], ['b', BIN_BATCH_RECORD], ['c', BIN_BATCH_RECORD]]);
    const back = records.map((r) => binsOfRecord(r));
    expect(back.map((d) => (d.ok ? d.bins.map((b) => b.seq) : d.error.message))).toEqual([[1, 3], [2, 5], [4]]);
    expect(back.flatMap((d) => (d.ok ? d.bins : []))).toEqual(expect.arrayContaining(bins));
  });

  it('pass a one-station message on as received, and cut a long one to fit a Kafka record', () => {
    const one = message([binAt(1, 'a'), binAt(2, 'a')]);
    const payload = Buffer.from(JSON.stringify(one, null, 1)); // the agent's own bytes, whatever their layout
    expect(binRecords(one, payload)[0]!.value).toBe(payload);
    const long = message(Array.from({ length: MAX_BINS_PER_RECORD * 2 + 1 }, (_, i) => binAt(i + 1, 'a')));
    const records = binRecords(long, encode(long));
    expect(records.map((r) => (binsOfRecord(r) as { bins: Bin[] }).bins.length)).toEqual([MAX_BINS_PER_RECORD, MAX_BINS_PER_RECORD, 1]);
    expect(Math.max(...records.map((r) => r.value.length))).toBeLessThan(1_000_000);
  });

  it('read the earlier form, one bin per record, and say what is wrong with a bad record', () => {
    const single = binsOfRecord({ value: encode(template), headers: { type: BIN_RECORD } });
    expect(single).toEqual({ ok: true, bins: [template] });
    expect(binsOfRecord({ value: encode(template), headers: {} })).toEqual({ ok: true, bins: [template] });
    const bad = binsOfRecord({ value: encode({ ...message([template]), bins: [{ ...template, bin_ms: 7 }] }), headers: { type: BIN_BATCH_RECORD } });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error.field).toBe('bins.0.bin_ms');
  });
});
