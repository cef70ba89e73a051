import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TimeOfWeekBaseline, median, robustStats, slotOf, type BaselineOptions } from './baseline.ts';

const TZ = 'America/Chicago';
const opts = (o: Partial<BaselineOptions> = {}): BaselineOptions => ({
  time_zone: TZ, slot_ms: 300_000, neighbour_slots: 0, min_history: 1, weeks_kept: 8, day_fallback: false, ...o,
});
const WEEK = 7 * 86_400_000;
/** Monday 2015-09-14 00:00 CDT (UTC−5) and Monday 2015-12-14 00:00 CST (UTC−6). */
const MON_CDT = Date.UTC(2015, 8, 14, 5);
const MON_CST = Date.UTC(2015, 11, 14, 6);

describe('slotOf', () => {
  it.each([
    // instant, slot, why
    [MON_CDT, 0, 'Monday 00:00 local is slot 0'],
    [MON_CDT + 299_999, 0, 'the slot is half-open'],
    [MON_CDT + 300_000, 1, 'the next 5 minutes'],
    [MON_CDT - 1, 2015, 'Sunday 23:59 is the last slot'],
    [MON_CST, 0, 'the same wall-clock time in winter is the same slot'],
    [MON_CDT + 8 * 3_600_000, 96, 'Monday 08:00'],
  ])('%i → slot %i (%s)', (t, slot) => {
    expect(slotOf(t, TZ, 300_000).slot).toBe(slot);
  });

  it('counts weeks so that consecutive Mondays differ by one', () => {
    expect(slotOf(MON_CDT + WEEK, TZ, 300_000).week - slotOf(MON_CDT, TZ, 300_000).week).toBe(1);
  });

  it('uses hour slots for hourly series', () => {
    expect(slotOf(MON_CDT + 25 * 3_600_000, TZ, 3_600_000).slot).toBe(25);
  });
});

describe('median and MAD', () => {
  it.each([
    [[5], 5, 0],
    [[1, 3], 2, 1],
    [[1, 2, 3, 4, 100], 3, 1],
    [[7, 7, 7, 7], 7, 0],
    [[10, 0, 20, 30, 40], 20, 10],
  ])('%j → median %d, MAD %d', (values, m, mad) => {
    expect(median(values)).toBe(m);
    expect(robustStats(values)).toEqual({ median: m, mad, n: values.length });
  });
});

describe('TimeOfWeekBaseline', () => {
  it('says "not enough history" below min_history', () => {
    const b = new TimeOfWeekBaseline(opts({ min_history: 3 }));
    b.add(MON_CDT, 50);
    b.add(MON_CDT + WEEK, 60);
    expect(b.stats(MON_CDT + 2 * WEEK)).toBeNull();
    b.add(MON_CDT - WEEK, 70);
    expect(b.stats(MON_CDT + 2 * WEEK)).toEqual({ median: 60, mad: 10, n: 3 });
  });

  it('pools neighbouring slots, wrapping around the week', () => {
    const b = new TimeOfWeekBaseline(opts({ neighbour_slots: 1 }));
    b.add(MON_CDT - 300_000, 10); // Sunday 23:55, the slot before Monday 00:00
    b.add(MON_CDT + 300_000, 30);
    b.add(MON_CDT + 600_000, 99); // two slots away: not pooled
    expect(b.pooled(MON_CDT).sort((x, y) => x - y)).toEqual([10, 30]);
  });

  it('lets a revision replace the earlier value of the same window', () => {
    const b = new TimeOfWeekBaseline(opts());
    b.add(MON_CDT, 10);
    b.add(MON_CDT, 20);
    expect(b.pooled(MON_CDT)).toEqual([20]);
  });

  it('ignores missing and non-finite values', () => {
    const b = new TimeOfWeekBaseline(opts());
    b.add(MON_CDT, null);
    b.add(MON_CDT, Number.NaN);
    expect(b.size()).toBe(0);
  });

  it('keeps only the last weeks_kept weeks', () => {
    const b = new TimeOfWeekBaseline(opts({ weeks_kept: 2 }));
    for (let w = 0; w < 5; w++) b.add(MON_CDT + w * WEEK, w);
    expect(b.pooled(MON_CDT).sort()).toEqual([3, 4]);
    b.add(MON_CDT - WEEK, 100); // older than the kept weeks: dropped on arrival
    expect(b.pooled(MON_CDT).sort()).toEqual([3, 4]);
  });

  it('rejects a slot that does not divide the week', () => {
    expect(() => new TimeOfWeekBaseline(opts({ slot_ms: 7_000_000 }))).toThrow(RangeError);
  });

  it('agrees with a brute-force computation and stays bounded (property)', () => {
    const obs = fc.array(fc.record({ slot: fc.integer({ min: 0, max: 40 }), week: fc.integer({ min: 0, max: 6 }) /* stays in CDT: the DST case is in the table above */, v: fc.integer({ min: 0, max: 100 }) }), { maxLength: 200 });
    fc.assert(
      fc.property(obs, fc.integer({ min: 0, max: 40 }), (list, q) => {
        const o = opts({ neighbour_slots: 2, weeks_kept: 3, min_history: 1 });
        const b = new TimeOfWeekBaseline(o);
        const kept = new Map<number, { slot: number; week: number; v: number }>();
        let newest = -Infinity;
        for (const { slot, week, v } of list) {
          const t = MON_CDT + week * WEEK + slot * 300_000;
          b.add(t, v);
          newest = Math.max(newest, week);
          kept.set(t, { slot, week, v });
        }
        const expected = [...kept.values()].filter((e) => e.week > newest - 3 && Math.abs(e.slot - q) <= 2).map((e) => e.v);
        expect(b.pooled(MON_CDT + q * 300_000).sort((x, y) => x - y)).toEqual(expected.sort((x, y) => x - y));
        expect(b.size()).toBeLessThanOrEqual(41 * 3);
      }),
    );
  });
});

describe('TimeOfWeekBaseline day fallback', () => {
  const DAY = 86_400_000;
  it('pools the same time of day on days of the same kind while the week pool is thin, then hands over', () => {
    const b = new TimeOfWeekBaseline(opts({ min_history: 3, day_fallback: true }));
    // Monday to Thursday at 08:00 local: 50, 52, 54, 56; Saturday 08:00: 10.
    [50, 52, 54, 56].forEach((v, d) => b.add(MON_CDT + d * DAY + 8 * 3_600_000, v));
    b.add(MON_CDT + 5 * DAY + 8 * 3_600_000, 10);
    // Friday 08:00 has no week history: the weekdays answer, the Saturday does not count.
    expect(b.stats(MON_CDT + 4 * DAY + 8 * 3_600_000)).toEqual({ median: 53, mad: 2, n: 4 });
    // Sunday 08:00: only one weekend value, below min_history.
    expect(b.stats(MON_CDT + 6 * DAY + 8 * 3_600_000)).toBeNull();
    // Once Monday 08:00 has three weeks of its own, its own values decide.
    for (const [w, v] of [[1, 70], [2, 71]] as const) b.add(MON_CDT + w * WEEK + 8 * 3_600_000, v);
    expect(b.stats(MON_CDT + 3 * WEEK + 8 * 3_600_000)).toEqual({ median: 70, mad: 1, n: 3 });
  });

  it('is off when asked', () => {
    const b = new TimeOfWeekBaseline(opts({ min_history: 2, day_fallback: false }));
    [50, 52].forEach((v, d) => b.add(MON_CDT + d * DAY, v));
    expect(b.stats(MON_CDT + 2 * DAY)).toBeNull();
  });
});
