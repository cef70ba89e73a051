import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { frame, HEADER_BYTES, RecordType, scan } from './records.ts';

const payloads = (n: number) => Array.from({ length: n }, (_, i) => Buffer.from(JSON.stringify({ seq: i, pad: 'x'.repeat(i * 7 % 50) })));

describe('outbox record framing', () => {
  it('reads back every record it framed', () => {
    const ps = payloads(20);
    const file = Buffer.concat(ps.map((p, i) => frame(i % 3 === 0 ? RecordType.ack : RecordType.bin, p)));
    const r = scan(file);
    expect(r.records.map((x) => x.payload.toString())).toEqual(ps.map((p) => p.toString()));
    expect(r.good_end).toBe(file.length);
    expect(r.damaged).toEqual([]);
  });

  it('treats a file cut at any byte as a torn tail: every whole record before the cut, nothing after', () => {
    const ps = payloads(6);
    const frames = ps.map((p) => frame(RecordType.bin, p));
    const file = Buffer.concat(frames);
    const ends = frames.reduce<number[]>((acc, f) => [...acc, (acc.at(-1) ?? 0) + f.length], []);
    for (let cut = 0; cut <= file.length; cut++) {
      const r = scan(file.subarray(0, cut));
      const whole = ends.filter((e) => e <= cut).length;
      expect(r.records).toHaveLength(whole);
      expect(r.good_end).toBe(whole === 0 ? 0 : ends[whole - 1]);
    }
  });

  it('never returns a corrupted record and recovers every intact one after any single flipped byte', () => {
    const ps = payloads(8);
    const file = Buffer.concat(ps.map((p) => frame(RecordType.bin, p)));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: file.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, xor) => {
        const damaged = Buffer.from(file);
        damaged[at]! ^= xor;
        const got = scan(damaged).records.map((r) => r.payload.toString());
        const all = ps.map((p) => p.toString());
        // Every returned payload is one that was written, unchanged; at most the one hit record is missing.
        expect(got.every((g) => all.includes(g))).toBe(true);
        expect(got.length).toBeGreaterThanOrEqual(all.length - 1);
      }),
      { numRuns: 500 },
    );
  });

  it('skips garbage between records', () => {
    const a = frame(RecordType.bin, Buffer.from('{"a":1}'));
    const b = frame(RecordType.ack, Buffer.from('{"b":2}'));
    const garbage = Buffer.from('WF\x01\x01garbage-WF-garbage');
    const r = scan(Buffer.concat([a, garbage, b]));
    expect(r.records.map((x) => x.payload.toString())).toEqual(['{"a":1}', '{"b":2}']);
    expect(r.damaged).toEqual([{ from: a.length, to: a.length + garbage.length }]);
    expect(HEADER_BYTES).toBe(12);
  });
});
