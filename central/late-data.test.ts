/**
 * Late data: agent B is cut off for two hours while agent A reports on time. A's windows must be final on time
 * all along (no global watermark waits for B), B's show as final no_data; when B's backlog arrives, B's windows
 * are revised with its data and A's are left alone. Past the late horizon, bins go to late_events, counted,
 * once each even after the dedupe table has forgotten them.
 */
import { describe, expect, it } from 'vitest';
import { expecting, WINDOW_MS, type Bin, type Station } from '../protocol/index.ts';
import { ManualClock } from '../platform/clock.ts';
import { backends, produceBins, waitProcessed, type TestCentral } from './testing.ts';
import { testEnv } from './test-env.ts';

const T0 = Date.UTC(2026, 10, 24, 6, 0, 0);
const GRACE_MS = 60_000;
const OUTAGE_WINDOWS = 24; // two hours
const WINDOWS = 26;

const station = (id: string): Station => ({ station_id: id, name: id, kind: 'freeway', corridor_id: null, lat: 31.5, lon: -97.1, lanes: 1, free_flow_kmh: 110 });
const STATIONS = [station('late-a'), station('late-b')];
const DETECTORS = STATIONS.map((s) => ({ detector_id: `${s.station_id}-l1`, station_id: s.station_id }));

/** One device per station; a minute bin with `minute + 1` vehicles, so every window's volume is known. */
function bin(station_id: string, minute: number): Bin {
  return {
    device_id: `agent-${station_id}`, seq: minute + 1, detector_id: `${station_id}-l1`, station_id, bin_start_ms: T0 + minute * 60_000, bin_ms: 60_000,
    clock: { synced: true, offset_ms: 0 }, measures: { ...expecting(3), volume: minute + 1, samples_seen: 3 },
  };
}
const windowBins = (station_id: string, w: number) => Array.from({ length: 5 }, (_, i) => bin(station_id, w * 5 + i));
const volumeOf = (w: number) => Array.from({ length: 5 }, (_, i) => w * 5 + i + 1).reduce((a, b) => a + b, 0);

/** Moves the clock forward to `ms`. */
const at = (clock: ManualClock, ms: number) => clock.advance(ms - clock.now());

async function window(t: TestCentral, key: string, w: number) {
  const [row] = await t.store.windowsOf('station', key, T0 + w * WINDOW_MS, T0 + (w + 1) * WINDOW_MS);
  return row;
}

describe.each(backends())('late data ($name)', (backend) => {
  const run = testEnv(backend);
  it('revises only the late agent’s windows; everyone else’s stay final and on time', async () => {
    const { env, topics, clock } = await run.open(T0);
    const t = await run.central(env, { clock, stations: STATIONS, detectors: DETECTORS, topics, grace_ms: GRACE_MS });
    await t.central.finalize(); // the first pass sets where no_data filling starts: now

    let produced = 0;
    const send = async (bins: Bin[]) => {
      produced += await produceBins(env.log, topics.bins, bins);
      await waitProcessed(t, topics.bins, produced);
    };
    for (let w = 0; w < WINDOWS; w++) {
      const end = T0 + (w + 1) * WINDOW_MS;
      at(clock, end + 30_000); // bins reach central half a minute after their window ends
      await send([...windowBins('late-a', w), ...(w >= OUTAGE_WINDOWS ? windowBins('late-b', w) : [])]);
      at(clock, end + GRACE_MS);
      await t.central.finalize();
      // On time: at end + grace, A's window is final with its data, and B's is final too, as no_data while B is away.
      const a = await window(t, 'late-a', w);
      expect([a?.state, a?.revision, a?.measures.volume], `A window ${w}`).toEqual(['final', 0, volumeOf(w)]);
      const b = await window(t, 'late-b', w);
      expect([b?.state, b?.revision, b?.measures.volume], `B window ${w}`).toEqual(['final', 0, w < OUTAGE_WINDOWS ? null : volumeOf(w)]);
    }

    // B's backlog: two hours of bins, replayed at once.
    const emitted: { key: string; revision: number; state: string }[] = [];
    t.central.events.on('window', (r: { key: string; revision: number; state: string; level: string }) => r.level === 'station' && emitted.push(r));
    await send(Array.from({ length: OUTAGE_WINDOWS }, (_, w) => windowBins('late-b', w)).flat());
    for (let w = 0; w < WINDOWS; w++) {
      const a = await window(t, 'late-a', w);
      expect([a?.state, a?.revision, a?.measures.volume], `A window ${w} after the backlog`).toEqual(['final', 0, volumeOf(w)]);
      const b = await window(t, 'late-b', w);
      const want = w < OUTAGE_WINDOWS ? ['revised', 1, volumeOf(w)] : ['final', 0, volumeOf(w)];
      expect([b?.state, b?.revision, b?.measures.volume], `B window ${w} after the backlog`).toEqual(want);
    }
    // Every revision was re-emitted, and only B's.
    expect(new Set(emitted.map((e) => e.key))).toEqual(new Set(['late-b']));
    expect(emitted.filter((e) => e.state === 'revised').length).toBeGreaterThanOrEqual(OUTAGE_WINDOWS);
    expect(await t.store.lateEventCount()).toBe(0);
  }, 180_000);

  it('keeps bins past the late horizon in late_events, counted, and leaves their windows alone', async () => {
    const { env, topics, clock } = await run.open(T0);
    const t = await run.central(env, { clock, stations: STATIONS, detectors: DETECTORS, topics, grace_ms: GRACE_MS, late_horizon_ms: 30 * 60_000 });
    await t.central.finalize();
    at(clock, T0 + 2 * 3_600_000);
    await t.central.finalize(); // two hours of no_data for both stations

    // B's first hour arrives two hours late: windows that ended more than 30 minutes ago are past the horizon.
    const backlog = Array.from({ length: 12 }, (_, w) => windowBins('late-b', w)).flat();
    const once = await produceBins(env.log, topics.bins, backlog);
    await waitProcessed(t, topics.bins, once);
    expect(await t.store.lateEventCount()).toBe(backlog.length);
    const { rows } = await t.store.db.query<{ n: number; min_late: string }>('SELECT count(*)::int AS n, min(lateness_ms)::text AS min_late FROM late_events');
    expect(Number(rows[0]!.min_late)).toBeGreaterThan(30 * 60_000);
    for (let w = 0; w < 12; w++) {
      const b = await window(t, 'late-b', w);
      expect([b?.state, b?.revision, b?.measures.volume], `B window ${w}`).toEqual(['final', 0, null]);
    }

    // The dedupe table forgets bins past the horizon; redelivered then, they are still recorded once.
    expect(await t.store.pruneDedupe(T0 + 3_600_000)).toBe(backlog.length);
    await produceBins(env.log, topics.bins, backlog);
    await waitProcessed(t, topics.bins, 2 * once);
    expect(await t.store.lateEventCount()).toBe(backlog.length);
    for (let w = 0; w < 12; w++) expect((await window(t, 'late-b', w))?.measures.volume, `B window ${w}`).toBe(null);
  }, 120_000);
});
