import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checksum, decodeBinned, encodeBinned, EPOCH_2000_MS, Framer, parseFrame, request, response, type BinnedData } from './protocol.ts';

const data: BinnedData = {
  end_ms: Date.UTC(2026, 10, 27, 14, 0, 20),
  lanes: [
    { lane: 1, count: 9, speed_mph: 64, occupancy_scans: 72, shares_1024: [900, 100, 24] },
    { lane: 2, count: 0, speed_mph: 0, occupancy_scans: 0, shares_1024: [0, 0, 0] },
  ],
};
const frame = response(12, 'XD', encodeBinned(data));

describe('SS105 protocol', () => {
  it('frames requests with a 4-digit drop and CR', () => {
    expect(request(7).toString()).toBe('Z00007XD\r');
  });

  it('sums the payload characters for the checksum', () => {
    expect(checksum('AB')).toBe((0x41 + 0x42).toString(16).toUpperCase().padStart(4, '0'));
    expect(checksum('')).toBe('0000');
  });

  it('round-trips binned data, with the 2000 epoch', () => {
    const r = parseFrame(frame.toString('latin1'));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.frame).toMatchObject({ drop: 12, command: 'XD' });
    expect(decodeBinned(r.frame.payload)).toEqual(data);
    expect(Number.parseInt(r.frame.payload.slice(0, 8), 16)).toBe((data.end_ms - EPOCH_2000_MS) / 1000);
  });

  it.each([
    ['a flipped payload character', (s: string) => s.slice(0, 20) + (s[20] === '0' ? '1' : '0') + s.slice(21), 'bad_checksum'],
    ['a device error', () => 'Z00012XDFailure~', 'device_error'],
    ['no header', (s: string) => s.slice(2), 'bad_frame'],
  ])('refuses %s', (_what, mangle, reason) => {
    const r = parseFrame(mangle(frame.toString('latin1')));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toBe(reason);
  });

  it('rejects payloads that are not 8 + 29 × lanes hex characters', () => {
    expect(decodeBinned('1234')).toMatch(/not 8 \+ 29/);
    expect(decodeBinned('XYZ')).toMatch(/not hexadecimal/);
  });

  it('frames a response split at every byte', () => {
    const bytes = Buffer.concat([frame, frame]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const f = new Framer();
      const out = [...f.push(bytes.subarray(0, cut)), ...f.push(bytes.subarray(cut))];
      expect(out).toEqual([frame.toString('latin1'), frame.toString('latin1')]);
      expect(f.discarded).toBe(0);
    }
  });

  it('resynchronises after noise and cut-off lines, and never returns a corrupted frame as valid', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 60 }), fc.integer({ min: 1, max: frame.length - 1 }), (noise, cut) => {
        const f = new Framer();
        // garbage, a response cut short, garbage, then a whole response
        const lines = f.push(Buffer.concat([Buffer.from(noise), frame.subarray(0, cut), Buffer.from(noise), frame]));
        const valid = lines.map(parseFrame).filter((r) => r.ok);
        expect(valid.length).toBeLessThanOrEqual(1 + lines.length);
        for (const v of valid) if (v.ok) expect(decodeBinned(v.frame.payload)).toEqual(data);
        expect(lines.at(-1)).toBe(frame.toString('latin1'));
      }),
      { numRuns: 300 },
    );
  });

  it('bounds a line that never ends', () => {
    const f = new Framer(256);
    f.push(Buffer.from(`Z00001XD${'A'.repeat(10_000)}`));
    expect(f.discarded).toBeGreaterThan(9_000);
    expect(f.push(frame)).toEqual([frame.toString('latin1')]);
  });
});
