import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RollingSample } from './rolling-sample.ts';

describe('RollingSample', () => {
  it('keeps the last `capacity` values: its order statistics equal sorting them afresh (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { maxLength: 200 }), (capacity, xs) => {
        const r = new RollingSample(capacity);
        xs.forEach((x) => r.push(x));
        const kept = xs.slice(-capacity).map((x) => x + 0).sort((a, b) => a - b); // −0 is kept as 0
        expect(r.size).toBe(kept.length);
        kept.forEach((v, i) => expect(r.nth(i)).toBe(v));
        if (kept.length > 0) {
          expect(r.quantile(0)).toBe(kept[0]);
          expect(r.quantile(1)).toBe(kept[kept.length - 1]);
        }
      }),
    );
  });

  it('interpolates quantiles, and refuses what it cannot answer', () => {
    const r = new RollingSample(10);
    expect(r.quantile(0.5)).toBeNaN();
    [4, 1, 3, 2].forEach((x) => r.push(x));
    expect(r.quantile(0.5)).toBe(2.5);
    expect(r.quantile(0.1)).toBeCloseTo(1.3, 12);
    expect(() => r.nth(4)).toThrow(RangeError);
    expect(() => new RollingSample(0)).toThrow(/capacity must be a whole number ≥ 1, got 0/);
  });
});
