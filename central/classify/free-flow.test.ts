import { describe, expect, it } from 'vitest';
import { FREE_FLOW, FreeFlowLearner } from './free-flow.ts';

const w = (speed_kmh: number | null, occupancy_pct: number | null, observed_fraction = 1) => ({ speed_kmh, occupancy_pct, observed_fraction });

describe('FreeFlowLearner', () => {
  it('says nothing until enough free-flowing windows, then gives their 85th percentile', () => {
    const l = new FreeFlowLearner();
    for (let i = 0; i < FREE_FLOW.min_windows - 1; i++) l.push('s', w(100 + (i % 20), 4));
    expect(l.estimate('s')).toBeNull();
    l.push('s', w(100, 4));
    // 36 speeds: 100..119 then 100..115; sorted, index floor(0.85 × 36) = 30.
    const sorted = [...Array.from({ length: 35 }, (_, i) => 100 + (i % 20)), 100].sort((a, b) => a - b);
    expect(l.estimate('s')).toBe(sorted[30]);
  });

  it('ignores congested, badly observed and speedless windows', () => {
    const l = new FreeFlowLearner();
    for (let i = 0; i < 100; i++) {
      l.push('s', w(40, 30)); // queue
      l.push('s', w(120, 2, 0.2)); // hardly observed
      l.push('s', w(null, 3));
    }
    expect(l.estimate('s')).toBeNull();
    for (let i = 0; i < FREE_FLOW.min_windows; i++) l.push('s', w(105, 7.9));
    expect(l.estimate('s')).toBe(105);
  });

  it('keeps only the last week of windows', () => {
    const l = new FreeFlowLearner();
    for (let i = 0; i < FREE_FLOW.max_windows; i++) l.push('s', w(80, 2));
    for (let i = 0; i < FREE_FLOW.max_windows; i++) l.push('s', w(110, 2));
    expect(l.estimate('s')).toBe(110);
  });

  it('counts a window once: a revision of an earlier window is left out', () => {
    const l = new FreeFlowLearner();
    for (let i = 0; i < FREE_FLOW.min_windows; i++) l.push('s', w(100, 2), i * 300_000);
    for (let i = 0; i < FREE_FLOW.min_windows; i++) l.push('s', w(60, 2), i * 300_000); // revisions
    expect(l.estimate('s')).toBe(100);
  });
});
