import { describe, expect, it } from 'vitest';
import { TrafficAnomalyDetector, defaultTrafficOptions, robustScore, type TrafficAnomalyOptions } from './traffic.ts';
import type { WindowInput } from './types.ts';

const TZ = 'America/Chicago';
const W = 300_000;
const WEEK = 7 * 86_400_000;
/** Monday 2015-09-07 07:00 CDT. */
const MON_7AM = Date.UTC(2015, 8, 7, 12);

function win(t: number, speed: number | null, occ: number | null = 10, extra: Partial<WindowInput> = {}): WindowInput {
  return { key: 's1', window_start_ms: t, speed_kmh: speed, occupancy_pct: occ, volume: 50, observed_fraction: 1, ...extra };
}

/** Three weeks of Monday mornings 07:00–09:00 at about 100 km/h and 10 % occupancy, then the detector. */
function trained(o: Partial<TrafficAnomalyOptions> = {}): { d: TrafficAnomalyDetector; t0: number } {
  const d = new TrafficAnomalyDetector({ ...defaultTrafficOptions(TZ), ...o });
  for (let week = 0; week < 3; week++) {
    for (let i = 0; i < 24; i++) {
      const jitter = ((i * 7 + week * 3) % 5) - 2; // −2…2, deterministic
      expect(d.push(win(MON_7AM + week * WEEK + i * W, 100 + jitter, 10 + jitter / 2))).toEqual([]);
    }
  }
  return { d, t0: MON_7AM + 3 * WEEK + 12 * W }; // 08:00 in the fourth week
}

describe('robustScore', () => {
  it.each([
    // value, median, mad, floor, ratio, score
    [90, 100, 2, 0, 0, -3.3725],
    [100, 100, 2, 0, 0, 0],
    [90, 100, 0, 2, 0, -3.3725], // MAD 0 floored to 2
    [90, 100, 1, 0, 0.05, -1.349], // floored to 5 % of the median
  ])('%d against median %d, MAD %d → %d', (x, median, mad, floor, ratio, score) => {
    expect(robustScore(x, { median, mad, n: 10 }, floor, ratio)).toBeCloseTo(score, 3);
  });
});

describe('TrafficAnomalyDetector', () => {
  it('opens only after `persist` slow windows, and closes after `clear` normal ones', () => {
    const { d, t0 } = trained();
    expect(d.push(win(t0, 40))).toEqual([]);
    expect(d.push(win(t0 + W, 40))).toEqual([]);
    const open = d.push(win(t0 + 2 * W, 40));
    expect(open).toHaveLength(1);
    expect(open[0]).toMatchObject({ kind: 'open', rule: 'speed_kmh_low', window_start_ms: t0 + 2 * W, since_ms: t0, value: 40 });
    expect(open[0]!.score!).toBeLessThan(-3.5);
    expect(d.isOpen('s1', 'speed_kmh', 'low')).toBe(true);
    expect(d.push(win(t0 + 3 * W, 100))).toEqual([]);
    expect(d.push(win(t0 + 4 * W, 100))).toEqual([]);
    const close = d.push(win(t0 + 5 * W, 100));
    expect(close).toMatchObject([{ kind: 'close', since_ms: t0, reason: 'cleared' }]);
  });

  it('does not page for one or two noisy windows', () => {
    const { d, t0 } = trained();
    const events = [40, 40, 100, 40, 100, 100].flatMap((v, i) => d.push(win(t0 + i * W, v)));
    expect(events).toEqual([]);
  });

  it('watches each measure in its own direction', () => {
    const { d, t0 } = trained();
    const fast = [0, 1, 2].flatMap((i) => d.push(win(t0 + i * W, 160)));
    expect(fast).toEqual([]); // speed is watched for drops only by default
    const full = [3, 4, 5].flatMap((i) => d.push(win(t0 + i * W, 100, 60)));
    expect(full.map((e) => e.rule)).toEqual(['occupancy_pct_high']);
  });

  it('says nothing without enough history, however extreme the value', () => {
    const d = new TrafficAnomalyDetector(defaultTrafficOptions(TZ));
    const events = [0, 1, 2, 3, 4].flatMap((i) => d.push(win(MON_7AM + i * W, 5, 90)));
    expect(events).toEqual([]);
  });

  it('resets the run after a gap longer than max_gap_ms', () => {
    const { d, t0 } = trained();
    d.push(win(t0, 40));
    d.push(win(t0 + W, 40));
    expect(d.push(win(t0 + 5 * W, 40))).toEqual([]); // 20 minutes later: a new run of one
    expect(d.push(win(t0 + 6 * W, 40))).toEqual([]);
    expect(d.push(win(t0 + 7 * W, 40))).toHaveLength(1);
  });

  it('treats nulls and thin windows as missing, not as evidence', () => {
    const { d, t0 } = trained();
    d.push(win(t0, 40));
    d.push(win(t0 + W, null));
    d.push(win(t0 + 2 * W, 20, 10, { observed_fraction: 0.2 }));
    expect(d.push(win(t0 + 3 * W, 40))).toEqual([]); // only two usable slow windows so far
    expect(d.push(win(t0 + 4 * W, 40))).toHaveLength(1);
  });

  it('ignores late windows for alerting', () => {
    const { d, t0 } = trained();
    d.push(win(t0 + 10 * W, 100));
    const late = [0, 1, 2, 3].flatMap((i) => d.push(win(t0 + i * W, 40)));
    expect(late).toEqual([]);
    expect(d.isOpen('s1', 'speed_kmh', 'low')).toBe(false);
  });

  it('learns a revised window in place of the original', () => {
    const o = { ...defaultTrafficOptions(TZ), persist: 1, clear: 1 };
    o.baseline = { ...o.baseline, min_history: 1, neighbour_slots: 0 };
    const withRevision = new TrafficAnomalyDetector(o);
    const without = new TrafficAnomalyDetector(o);
    for (const d of [withRevision, without]) d.push(win(MON_7AM, 100));
    withRevision.push(win(MON_7AM, 50)); // revised: the window was really slow
    expect(without.push(win(MON_7AM + WEEK, 50))).toHaveLength(1);
    expect(withRevision.push(win(MON_7AM + WEEK, 50))).toEqual([]);
  });

  it('keeps keys apart', () => {
    const { d, t0 } = trained();
    const events = [0, 1, 2].flatMap((i) => d.push(win(t0 + i * W, 40, 10, { key: 'other' })));
    expect(events).toEqual([]); // 'other' has no history
  });
});
