import { describe, expect, it } from 'vitest';
import { DetectorHealthMonitor, defaultHealthOptions, minimumOccupancyPct, type DetectorHealthOptions } from './detector-health.ts';
import type { WindowInput } from './types.ts';

const TZ = 'America/Chicago';
const W = 300_000;
const WEEK = 7 * 86_400_000;
const MON_7AM = Date.UTC(2015, 8, 7, 12);

type Fig = [volume: number | null, occupancy: number | null, speed: number | null];
const win = (t: number, [volume, occupancy_pct, speed_kmh]: Fig, extra: Partial<WindowInput> = {}): WindowInput => ({
  key: 'd1', window_start_ms: t, volume, occupancy_pct, speed_kmh, observed_fraction: 1, ...extra,
});

/** Feeds `figs` one window apart from `t0`; returns "open rule@i" / "close rule@i". */
function feed(m: DetectorHealthMonitor, t0: number, figs: Fig[], extra: Partial<WindowInput> = {}): string[] {
  return figs.flatMap((f, i) => m.push(win(t0 + i * W, f, extra)).map((e) => `${e.kind} ${e.rule}@${i}`));
}

/** Varying, plausible figures (nothing repeats, nothing is extreme). */
const normal = (i: number): Fig => [40 + (i % 7), 8 + (i % 5) / 10, 95 + (i % 3)];

function monitor(o: Partial<DetectorHealthOptions> = {}): DetectorHealthMonitor {
  return new DetectorHealthMonitor({ ...defaultHealthOptions(TZ), ...o });
}

describe('no_hits', () => {
  it('opens after 30 minutes of zero volume where traffic is expected, and closes when counts return', () => {
    const m = monitor();
    for (let w = 0; w < 2; w++) feed(m, MON_7AM + w * WEEK, Array.from({ length: 24 }, (_, i) => normal(i)));
    const t0 = MON_7AM + 2 * WEEK;
    const zeros: Fig[] = Array.from({ length: 6 }, () => [0, 0, null]);
    expect(feed(m, t0, [...zeros, normal(1), normal(2)])).toEqual(['open no_hits@5', 'close no_hits@7']);
  });

  it('stays quiet for zero volume where none is expected, or with no history', () => {
    const m = monitor();
    for (let w = 0; w < 2; w++) feed(m, MON_7AM + w * WEEK, Array.from({ length: 24 }, () => [0, 0, null]));
    expect(feed(m, MON_7AM + 2 * WEEK, Array.from({ length: 12 }, () => [0, 0, null]))).toEqual([]);
    expect(feed(monitor(), MON_7AM, Array.from({ length: 12 }, () => [0, 0, null]))).toEqual([]);
  });

  it('does not take missing data for zero', () => {
    const m = monitor();
    for (let w = 0; w < 2; w++) feed(m, MON_7AM + w * WEEK, Array.from({ length: 24 }, (_, i) => normal(i)));
    expect(feed(m, MON_7AM + 2 * WEEK, Array.from({ length: 12 }, () => [null, null, null]))).toEqual([]);
  });
});

describe('stuck_on', () => {
  it.each([
    // occupancy per window, events
    [[96, 97, 100, 20, 20], ['open stuck_on@2', 'close stuck_on@4']],
    [[96, 97, 20, 99], []],
    [[94, 94, 94, 94], []],
  ])('%j → %j', (occ, expected) => {
    expect(feed(monitor(), MON_7AM, occ.map((o, i) => [30 + i, o, 20 + i]))).toEqual(expected);
  });
});

describe('chatter', () => {
  it('computes the physical minimum occupancy', () => {
    // 5 m at 160 km/h is 0.1125 s per vehicle; 100 vehicles in 300 s occupy at least 3.75 %.
    expect(minimumOccupancyPct(100, defaultHealthOptions(TZ).chatter)).toBeCloseTo(3.75, 6);
  });

  it.each([
    // [volume, occupancy] per window, lanes, events, why
    [[[300, 20], [310, 21], [40, 8], [41, 8]], 1, ['open chatter@1', 'close chatter@3'], 'above 250 per lane'],
    [[[300, 20], [310, 21]], 2, [], 'the same counts over two lanes are plausible'],
    [[[120, 1], [130, 1]], 1, ['open chatter@1'], 'many counts, almost no occupancy'],
    [[[30, 0], [31, 0]], 1, [], 'too few counts to judge integer occupancy'],
  ] as const)('%j on %i lane(s) → %j (%s)', (figs, lanes, expected, _why) => {
    const f: Fig[] = figs.map(([v, o], i) => [v, o, 90 + i]);
    expect(feed(monitor(), MON_7AM, f, { lanes })).toEqual(expected);
  });
});

describe('flat_line', () => {
  it('opens after twelve identical non-zero values and closes at the first change', () => {
    const figs: Fig[] = Array.from({ length: 14 }, (_, i) => [40 + i, 9 + i / 10, i < 12 ? 88 : 90 + i]);
    expect(feed(monitor(), MON_7AM, figs)).toEqual(['open flat_line_speed_kmh@11', 'close flat_line_speed_kmh@12']);
  });

  it('leaves repeated zeros to no_hits and skips missing windows', () => {
    const zeros: Fig[] = Array.from({ length: 20 }, () => [0, 0, null]);
    expect(feed(monitor(), MON_7AM, zeros)).toEqual([]);
    const gappy: Fig[] = Array.from({ length: 14 }, (_, i) => [40 + i, 9 + i / 10, i % 2 === 0 ? 88 : null]);
    // only seven usable speeds, all 88: not yet twelve
    expect(feed(monitor(), MON_7AM, gappy)).toEqual([]);
  });

  it('is not fooled by a late window carrying the same value', () => {
    const m = monitor();
    const figs: Fig[] = Array.from({ length: 11 }, (_, i) => [40 + i, 9 + i / 10, 88]);
    feed(m, MON_7AM, figs);
    expect(m.push(win(MON_7AM - W, [1, 1, 88]))).toEqual([]);
    expect(m.isOpen('d1', 'flat_line_speed_kmh')).toBe(false);
    expect(m.push(win(MON_7AM + 11 * W, [60, 10, 88])).map((e) => e.rule)).toEqual(['flat_line_speed_kmh']);
  });
});
