/**
 * Alerts and forecasts through central, on both backends: a detector stuck on opens a detector-health alert that
 * is stored, emitted and published to the alerts topic keyed by its station, then closes; forecasts are stored
 * per horizon; and with two instances only the lease holder finalises and analyses.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decode, expecting, WINDOW_MS, type Alert, type Bin, type Station } from '../protocol/index.ts';
import { backends, produceBins, startCentral, waitProcessed } from './testing.ts';
import { testEnv } from './test-env.ts';

const T0 = Date.UTC(2026, 10, 24, 6, 0, 0);
const station: Station = { station_id: 'al-s1', name: 'al-s1', kind: 'freeway', corridor_id: null, lat: 31.5, lon: -97.1, lanes: 1, free_flow_kmh: 110 };
const DETECTORS = [{ detector_id: 'al-s1-l1', station_id: 'al-s1' }];

/** One 5-minute bin for window `w` with `occupancy` percent and 30 vehicles at `speed` km/h. */
function bin(w: number, occupancy: number, speed = 90): Bin {
  return {
    device_id: 'agent-al', seq: w + 1, detector_id: 'al-s1-l1', station_id: 'al-s1', bin_start_ms: T0 + w * WINDOW_MS, bin_ms: WINDOW_MS, clock: { synced: true, offset_ms: 0 },
    measures: { ...expecting(15), volume: 30, samples_seen: 15, occupied_ms: (occupancy / 100) * WINDOW_MS, occupancy_observed_ms: WINDOW_MS, speed_weight: 30, speed_sum: 30 * speed, speed_inverse_sum: 30 / speed, speed_min_kmh: speed, speed_max_kmh: speed },
  };
}

describe.each(backends())('alerts and forecasts ($name)', (backend) => {
  const run = testEnv(backend);
  it('opens a stuck-on alert after three windows, publishes it keyed by station, and closes it', async () => {
    const { env, topics, clock } = await run.open(T0);
    const t = await run.central(env, { clock, stations: [station], detectors: DETECTORS, topics, grace_ms: 60_000 });
    const emitted: Alert[] = [];
    t.central.events.on('alert', (a: Alert) => emitted.push(a));
    await t.central.finalize();

    const occupancy = [10, 100, 100, 100, 12, 11, 10];
    for (const [w, occ] of occupancy.entries()) {
      await produceBins(env.log, topics.bins, [bin(w, occ)]);
      await waitProcessed(t, topics.bins, w + 1);
      clock.advance(T0 + (w + 1) * WINDOW_MS + 60_000 - clock.now());
      await t.central.finalize();
    }
    expect(emitted.map((a) => [a.rule, a.state, a.window_start_ms])).toEqual([
      ['stuck_on', 'open', T0 + 3 * WINDOW_MS],
      ['stuck_on', 'closed', T0 + 5 * WINDOW_MS],
    ]);
    const stored = await t.store.analytics.alerts();
    expect(stored).toEqual([{ ...emitted[1], v: 1 }]); // one row per alert, in its latest state
    expect(stored[0]).toMatchObject({ alert_id: `detector_health:stuck_on:al-s1-l1:${T0 + WINDOW_MS}`, kind: 'detector_health', window_revision: 0 });

    // The alerts topic carries both events, keyed by the detector's station.
    const consumer = env.log.consumer(`read-${randomUUID()}`);
    const published: { key: string | null; alert: Alert }[] = [];
    await consumer.run({ topics: [topics.alerts], eachBatch: async (b) => void published.push(...b.records.map((r) => ({ key: r.key, alert: decode('alert', r.value) }))) });
    const end = Date.now() + 30_000;
    while (published.length < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    await consumer.stop();
    expect(published.map((p) => [p.key, p.alert.state])).toEqual([['al-s1', 'open'], ['al-s1', 'closed']]);

    const forecasts = await t.store.analytics.forecasts();
    expect(forecasts.map((f) => [f.station_id, f.horizon_min, f.issued_window_start_ms])).toEqual([15, 30, 60].map((h) => ['al-s1', h, T0 + 6 * WINDOW_MS]));
    // Six windows are too few to score forecasts: no interval yet, and the worse end is the forecast itself.
    for (const f of forecasts) expect([f.speed_low_kmh, f.occupancy_high_pct, f.worse_congestion]).toEqual([null, null, f.congestion]);
    // A forecast with its interval is stored and read back whole.
    const issued = T0 + 7 * WINDOW_MS;
    await t.store.analytics.saveForecasts([{ key: 'al-s1', issued_window_start_ms: issued, horizons: [{
      horizon_min: 15, target_window_start_ms: issued + 15 * 60_000, speed_kmh: 61.5, occupancy_pct: 14, congestion: 'light', worse_congestion: 'moderate',
      speed_interval: { low: 48.25, high: 70 }, occupancy_interval: { low: 9, high: 26.5 },
    }] }], clock.now());
    expect((await t.store.analytics.forecasts()).find((f) => f.horizon_min === 15)).toEqual({
      station_id: 'al-s1', horizon_min: 15, issued_window_start_ms: issued, target_window_start_ms: issued + 15 * 60_000, speed_kmh: 61.5, occupancy_pct: 14,
      congestion: 'light', speed_low_kmh: 48.25, speed_high_kmh: 70, occupancy_low_pct: 9, occupancy_high_pct: 26.5, worse_congestion: 'moderate',
    });
  }, 120_000);

  it('lets only the lease holder finalise; the other takes over when the holder stops', async () => {
    const { env, topics, clock } = await run.open(T0);
    const a = await startCentral(env, { clock, stations: [station], detectors: DETECTORS, topics, grace_ms: 60_000 }); // stopped by the test
    const b = await run.central(env, { clock, stations: [station], detectors: DETECTORS, topics, grace_ms: 60_000 });
    await a.central.finalize();
    clock.advance(3 * WINDOW_MS);
    const first = await a.central.finalize(); // the holder renews its lease and fills the slots due since its first pass
    expect(first.filter((r) => r.level === 'station').map((r) => r.window_start_ms)).toEqual([T0 - WINDOW_MS, T0, T0 + WINDOW_MS]);
    expect(await b.central.finalize()).toEqual([]); // a holds the lease
    await a.central.stop(); // releases the lease
    clock.advance(WINDOW_MS);
    const taken = await b.central.finalize();
    expect(taken.filter((r) => r.level === 'station').map((r) => [r.window_start_ms, r.status])).toEqual([[T0 + 2 * WINDOW_MS, 'no_data']]);
  }, 120_000);

  it('learns the station’s free-flow speed from free-flowing windows and classifies with it', async () => {
    const { env, topics, clock } = await run.open(T0);
    const t = await run.central(env, { clock, stations: [station], detectors: DETECTORS, topics, grace_ms: 60_000 });
    await t.central.finalize();
    // Forty free-flowing windows at 70 km/h on a road configured for 110.
    const records = await produceBins(env.log, topics.bins, Array.from({ length: 40 }, (_, w) => bin(w, 4, 70)));
    await waitProcessed(t, topics.bins, records);
    clock.advance(41 * WINDOW_MS);
    await t.central.finalize();
    // 60 km/h is 0.55 of the configured 110 (moderate) but 0.86 of the learned 70 (clear).
    await produceBins(env.log, topics.bins, [bin(41, 4, 60)]);
    await waitProcessed(t, topics.bins, records + 1);
    clock.advance(2 * WINDOW_MS);
    const final = (await t.central.finalize()).find((r) => r.level === 'station' && r.window_start_ms === T0 + 41 * WINDOW_MS);
    expect(final).toMatchObject({ speed_kmh: 60, congestion: 'clear' });
    expect(await t.store.analytics.learnedFreeFlow()).toEqual(new Map([['al-s1', 70]]));
  }, 120_000);
});
