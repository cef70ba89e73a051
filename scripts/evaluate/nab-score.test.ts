import { describe, expect, it } from 'vitest';
import { NAB_STANDARD, nabNormalised, nabRaw } from './nab-score.ts';

// 100 rows at t = 0..99; probation is the first 15; one window over rows 40–59.
const rows = Array.from({ length: 100 }, (_, i) => i);
const windows: [number, number][] = [[40, 59]];

describe('NAB score', () => {
  it('scores an early detection near 1, a late one near 0, and only the best in a window', () => {
    expect(nabRaw(rows, [40], windows).raw).toBeCloseTo(1, 12);
    expect(nabRaw(rows, [59], windows).raw).toBeCloseTo((2 / (1 + Math.exp(5 * (-1 / 20))) - 1) / (2 / (1 + Math.exp(-5)) - 1), 12);
    expect(nabRaw(rows, [59, 45], windows).raw).toBe(nabRaw(rows, [45], windows).raw);
    expect(nabRaw(rows, [], windows)).toEqual({ raw: -1, null_score: -1, perfect: 1 });
  });

  it('charges a false positive less just after a window than far from one, nothing in probation', () => {
    const justAfter = nabRaw(rows, [40, 61], windows).raw - 1;
    const farAfter = nabRaw(rows, [40, 99], windows).raw - 1;
    const beforeAny = nabRaw(rows, [40, 20], windows).raw - 1;
    expect(justAfter).toBeLessThan(0);
    expect(farAfter).toBeLessThan(justAfter);
    expect(beforeAny).toBeCloseTo(-NAB_STANDARD.fp_weight, 12);
    expect(nabRaw(rows, [40, 5], windows).raw).toBeCloseTo(1, 12);
  });

  it('normalises over series: nothing detected is 0, every window at its start is 100', () => {
    const a = nabRaw(rows, [], windows);
    const b = nabRaw(rows, [40], windows);
    expect(nabNormalised([a, a])).toBe(0);
    expect(nabNormalised([b, b])).toBeCloseTo(100, 12);
    expect(nabNormalised([a, b])).toBeCloseTo(50, 12);
  });
});
