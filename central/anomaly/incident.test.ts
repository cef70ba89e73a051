import { describe, expect, it } from 'vitest';
import { DEFAULT_INCIDENT, IncidentDetector } from './incident.ts';

const W = 300_000;
const T0 = Date.UTC(2026, 11, 7, 14);
const run = (d: IncidentDetector, pairs: [number | null, number | null][], from = 0) =>
  pairs.flatMap(([up, down], i) => d.push({ up: 'a', down: 'b', window_start_ms: T0 + (from + i) * W, up_occupancy_pct: up, down_occupancy_pct: down }));

describe('IncidentDetector', () => {
  it('opens after two windows of a full upstream and a thin downstream, keyed by the upstream station', () => {
    const events = run(new IncidentDetector(), [[10, 9], [60, 5], [65, 6]]);
    expect(events).toMatchObject([{ kind: 'open', rule: 'incident', key: 'a', downstream: 'b', window_start_ms: T0 + 2 * W, since_ms: T0 + W }]);
  });

  it('stays quiet for recurrent congestion (both full), a small difference, and missing data', () => {
    const d = new IncidentDetector();
    expect(run(d, [[60, 40], [62, 45], [64, 44]])).toEqual([]); // downstream congested too: a wave, not a blockage
    expect(run(d, [[20, 9], [21, 10]], 3)).toEqual([]); // 11 points apart: below the 12-point difference
    expect(run(d, [[60, null], [null, 5], [61, null]], 5)).toEqual([]); // no window has both
  });

  it('closes when the difference goes, and on a gap in the data', () => {
    const d = new IncidentDetector();
    run(d, [[60, 5], [60, 5]]);
    expect(run(d, [[20, 18], [20, 18]], 2).map((e) => [e.kind, e.detail])).toEqual([['close', 'cleared: occupancy 20 % at a, 18 % at b downstream']]);
    run(d, [[60, 5], [60, 5]], 4);
    expect(run(d, [[60, 5]], 10).map((e) => [e.kind, e.reason])).toEqual([['close', 'gap']]);
    expect(DEFAULT_INCIDENT.max_gap_ms).toBe(15 * 60_000);
  });
});
