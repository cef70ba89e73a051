import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc8, decodeInterval, encodeFrame, encodeInterval, Framer, intervalRequest, MSG_INTERVAL } from './protocol.ts';

const record = {
  packet: 1, interval_number: 4242, timestamp_ms: Date.UTC(2026, 10, 27, 14, 0, 20, 250), speed: 61.5, volume: 17,
  occupancy_pct: 12.75, class_counts: [15, 1, 1, 0] as [number, number, number, number], lanes: 3, approaches: 1,
};
const frame = encodeFrame({ dst_id: 0, src_id: 513, seq: 9, body: encodeInterval(record) });

describe('SS125 protocol', () => {
  it.each([
    // worked by hand: shift left, XOR 0x1C whenever a 1 falls off the top
    [[0x01], 0x1c],
    [[0x80], 0xa8],
    [[0x01, 0x00], 0x4c],
    [[], 0x00],
  ])('CRC-8 (poly 0x1C, init 0, not reflected) of %j is %i', (bytes, crc) => {
    expect(crc8(Buffer.from(bytes))).toBe(crc);
  });

  it('round-trips an interval body: fixed-point speed and occupancy, the packed timestamp', () => {
    const [f] = new Framer().push(frame);
    expect(f).toMatchObject({ src_id: 513, dst_id: 0, seq: 9 });
    expect(decodeInterval(f!.body)).toEqual(record);
  });

  it('reads an invalid-speed flag and occupancy error codes as no value', () => {
    const body = Buffer.concat([encodeInterval({ ...record, speed: null, occupancy_pct: null }), Buffer.from([0])]);
    expect(decodeInterval(body)).toMatchObject({ speed: null, occupancy_pct: null });
  });

  it('writes a poll for the latest interval of one drop', () => {
    const [f] = new Framer().push(intervalRequest(77, 5));
    expect(f).toMatchObject({ dst_id: 77, seq: 5 });
    expect([...f!.body.subarray(0, 6)]).toEqual([MSG_INTERVAL, 0, 0, 0, 0, 0]);
  });

  it('frames input split at every byte', () => {
    const bytes = Buffer.concat([frame, frame]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const f = new Framer();
      const out = [...f.push(bytes.subarray(0, cut)), ...f.push(bytes.subarray(cut))];
      expect(out).toHaveLength(2);
      expect(f.discarded).toBe(0);
    }
  });

  it('never accepts a frame with a flipped bit, and finds the next good one', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: frame.length - 1 }), fc.integer({ min: 0, max: 7 }), fc.uint8Array({ maxLength: 40 }), (at, bit, noise) => {
        const bad = Buffer.from(frame);
        bad[at]! ^= 1 << bit;
        const out = new Framer().push(Buffer.concat([Buffer.from(noise), bad, frame]));
        const decoded = out.map((f) => decodeInterval(f.body));
        // Only intact frames come out: at most the noise could spell one by chance, and the last is the good one.
        expect(decoded.at(-1)).toEqual(record);
        expect(out.filter((f) => f.body.equals(Buffer.concat([encodeInterval(record), Buffer.from([crc8(encodeInterval(record))])]))).length).toBeGreaterThanOrEqual(1);
        for (const f of out) expect(crc8(f.body, 0, f.body.length - 1)).toBe(f.body.at(-1));
      }),
      { numRuns: 400 },
    );
  });

  it('bounds the bytes it buffers', () => {
    const f = new Framer(256);
    f.push(Buffer.concat([frame.subarray(0, 11), Buffer.alloc(5_000, 0x5a)]));
    expect(f.discarded).toBeGreaterThan(4_000);
    expect(f.push(frame)).toHaveLength(1);
  });
});
