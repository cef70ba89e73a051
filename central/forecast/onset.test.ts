import { describe, expect, it } from 'vitest';
import type { Congestion } from '../../protocol/index.ts';
import { forecastSaysCongested, lightNow, OnsetWarner } from './onset.ts';
import type { HorizonForecast, StationForecast } from './station.ts';

const W = 300_000;
const T0 = Date.UTC(2026, 11, 7, 14);

/** A forecast whose 15- and 30-minute horizons have the given levels at their intervals' worse end. */
const forecast = (t: number, worse15: Congestion, worse30: Congestion = 'clear', mean: Congestion = 'clear'): StationForecast => ({
  key: 'st',
  issued_window_start_ms: t,
  horizons: ([[15, worse15], [30, worse30], [60, 'severe']] as const).map(([horizon_min, worse]): HorizonForecast => ({
    horizon_min, target_window_start_ms: t + horizon_min * 60_000, speed_kmh: 70, occupancy_pct: 12,
    speed_interval: { low: 40, high: 95 }, occupancy_interval: { low: 6, high: 30 }, congestion: mean, worse_congestion: worse,
  })),
});

describe('OnsetWarner on the forecast', () => {
  const warner = () => new OnsetWarner(forecastSaysCongested(30));

  it('opens while clear when the worse end of a forecast within 30 minutes is moderate, and closes when it arrives', () => {
    const w = warner();
    expect(w.push('st', T0, 'clear', forecast(T0, 'clear'))).toEqual([]);
    const [open] = w.push('st', T0 + W, 'clear', forecast(T0 + W, 'clear', 'moderate'));
    expect(open).toMatchObject({ kind: 'open', rule: 'congestion_onset', key: 'st', since_ms: T0 + W });
    expect(open!.detail).toBe('clear now; moderate possible in 30 min, speed 70 km/h (80 %: 40–95)');
    expect(w.push('st', T0 + 2 * W, 'light', forecast(T0 + 2 * W, 'moderate'))).toEqual([]); // still open: no repeat
    expect(w.push('st', T0 + 3 * W, 'severe', forecast(T0 + 3 * W, 'severe'))).toEqual([
      { kind: 'close', rule: 'congestion_onset', key: 'st', window_start_ms: T0 + 3 * W, since_ms: T0 + W, reason: 'arrived', detail: 'severe now' },
    ]);
    // Congested now: nothing to warn of, whatever the forecast says.
    expect(w.push('st', T0 + 4 * W, 'moderate', forecast(T0 + 4 * W, 'severe'))).toEqual([]);
  });

  it('ignores the 60-minute horizon, and closes as eased after two windows without a warning', () => {
    const w = warner();
    expect(w.push('st', T0, 'clear', forecast(T0, 'clear', 'clear'))).toEqual([]); // only 60 min says severe
    w.push('st', T0 + W, 'clear', forecast(T0 + W, 'moderate'));
    expect(w.push('st', T0 + 2 * W, 'clear', forecast(T0 + 2 * W, 'clear'))).toEqual([]);
    expect(w.push('st', T0 + 3 * W, 'clear', forecast(T0 + 3 * W, 'clear'))).toMatchObject([{ kind: 'close', reason: 'eased' }]);
    expect(w.isOpen('st')).toBe(false);
  });

  it('ignores a revision of a window it has judged: two real quiet windows close a warning, not one twice', () => {
    const w = warner();
    w.push('st', T0, 'clear', forecast(T0, 'moderate'));
    expect(w.push('st', T0 + W, 'clear', forecast(T0 + W, 'clear'))).toEqual([]);
    expect(w.push('st', T0 + W, 'clear', forecast(T0 + W, 'clear'))).toEqual([]); // the same window, revised
    expect(w.isOpen('st')).toBe(true);
    expect(w.push('st', T0 + 2 * W, 'clear', forecast(T0 + 2 * W, 'clear'))).toMatchObject([{ kind: 'close', reason: 'eased' }]);
  });

  it('takes a window with no level as no evidence, closes on a gap, and ignores late windows', () => {
    const w = warner();
    w.push('st', T0, 'clear', forecast(T0, 'moderate'));
    expect(w.push('st', T0 + W, 'unknown', forecast(T0 + W, 'clear'))).toEqual([]);
    expect(w.push('st', T0 - W, 'clear', forecast(T0 - W, 'clear'))).toEqual([]);
    expect(w.isOpen('st')).toBe(true);
    const events = w.push('st', T0 + 20 * 60_000, 'clear', forecast(T0 + 20 * 60_000, 'moderate'));
    expect(events.map((e) => [e.kind, e.reason])).toEqual([['close', 'gap'], ['open', undefined]]);
  });
});

describe('OnsetWarner on the corridor', () => {
  it('warns while clear when the next station downstream is congested, and not when it is only light', () => {
    const w = new OnsetWarner(forecastSaysCongested(30));
    expect(w.push('st', T0, 'clear', forecast(T0, 'clear'), { station_id: 'below', level: 'light' })).toEqual([]);
    expect(w.push('st', T0 + W, 'clear', forecast(T0 + W, 'clear'), { station_id: 'below', level: 'severe' })).toMatchObject([
      { kind: 'open', detail: 'clear now; below downstream is severe: its queue may reach here' },
    ]);
    expect(w.push('st', T0 + 2 * W, 'moderate', forecast(T0 + 2 * W, 'clear'), { station_id: 'below', level: 'severe' })).toMatchObject([{ kind: 'close', reason: 'arrived' }]);
  });
});

describe('OnsetWarner on "light now"', () => {
  it('warns whenever the station is light, whatever is forecast', () => {
    const w = new OnsetWarner(lightNow);
    expect(w.push('st', T0, 'clear', forecast(T0, 'severe', 'severe'))).toEqual([]);
    expect(w.push('st', T0 + W, 'light', null)).toMatchObject([{ kind: 'open', detail: 'light now' }]);
  });
});
