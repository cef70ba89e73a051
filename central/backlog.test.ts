/**
 * A backlog, on both backends: bins that arrive after their windows' deadlines (end + grace) are written final at
 * once, published as final results only, and analysed by the instance that holds the finalizer lease, whether
 * it ingested them itself or another instance did and left them for it.
 */
import { describe, expect, it } from 'vitest';
import { expecting, type Bin, type Station, type WindowResult } from '../protocol/index.ts';
import type { StationForecast } from './forecast/station.ts';
import { backends, ownTopics, produceBins, waitProcessed, type TestCentral } from './testing.ts';
import { testEnv } from './test-env.ts';

const T0 = Date.UTC(2026, 10, 24, 6, 0, 0);
const MIN = 60_000;
const station = (id: string): Station => ({ station_id: id, name: id, kind: 'freeway', corridor_id: 'bl-c1', lat: 31.5, lon: -97.1, lanes: 2, free_flow_kmh: 110 });
const STATIONS = [station('bl-s1'), station('bl-s2')];
const LANES = STATIONS.flatMap((s) => [1, 2].map((l) => ({ detector_id: `${s.station_id}-l${l}`, station_id: s.station_id })));
const WINDOWS = 6;

/** Minute bins of every lane for the first half hour after T0: six windows each. */
const bins: Bin[] = LANES.flatMap(({ detector_id, station_id }, lane) =>
  Array.from({ length: WINDOWS * 5 }, (_, m) => ({
    device_id: `agent-bl-${lane}`, seq: m + 1, detector_id, station_id, bin_start_ms: T0 + m * MIN, bin_ms: MIN,
    clock: { synced: true, offset_ms: 0 }, measures: { ...expecting(3), volume: 2, samples_seen: 3, speed_weight: 2, speed_sum: 190, speed_inverse_sum: 2 / 95 },
  })),
);

/** What an instance emits: window results and forecasts. */
function watch(t: TestCentral) {
  const seen = { windows: [] as WindowResult[], forecasts: [] as StationForecast[] };
  t.central.events.on('window', (w: WindowResult) => seen.windows.push(w));
  t.central.events.on('forecast', (f: StationForecast) => seen.forecasts.push(f));
  return seen;
}

async function leftForAnalysis(t: TestCentral): Promise<string[]> {
  const { rows } = await t.store.db.query<{ level: string; n: number }>('SELECT level, count(*)::int AS n FROM windows_to_analyse GROUP BY level ORDER BY level');
  return rows.map((r) => `${r.level} ${r.n}`);
}

describe.each(backends())('a backlog ($name)', (backend) => {
  const run = testEnv(backend);

  it('is written final as it arrives, published once a window, and analysed where it is written', async () => {
    // Two hours later: every window of the backlog is long past its end + grace.
    const { env, topics, clock } = await run.open(T0 + 120 * MIN);
    const t = await run.central(env, { clock, stations: STATIONS, detectors: LANES, topics, grace_ms: 60_000 });
    const seen = watch(t);
    await t.central.finalize(); // holds the lease
    await waitProcessed(t, topics.bins, await produceBins(env.log, topics.bins, bins));
    // The next pass finds nothing provisional to finalise; it runs after the analysis of what was written.
    expect((await t.central.finalize()).filter((r) => r.status === 'ok')).toEqual([]);

    const stored = await Promise.all(STATIONS.map((s) => t.store.windowsOf('station', s.station_id, T0, T0 + WINDOWS * 5 * MIN)));
    expect(stored.flat().map((r) => r.state)).toEqual(Array<string>(2 * WINDOWS).fill('final'));
    expect(seen.windows.filter((w) => w.state === 'provisional')).toEqual([]);
    // Each detector's and station's window once. A corridor's stations arrive on different partitions, perhaps
    // in different transactions: its window may be revised by the second, and it ends with both.
    const keys = seen.windows.filter((w) => w.level !== 'corridor').map((w) => `${w.level}/${w.key}@${w.window_start_ms}`);
    expect(new Set(keys).size).toBe(6 * WINDOWS);
    expect(keys.length).toBe(6 * WINDOWS);
    const corridor = await t.store.windowsOf('corridor', 'bl-c1', T0, T0 + WINDOWS * 5 * MIN);
    expect(corridor.map((r) => r.measures.volume)).toEqual(Array<number>(WINDOWS).fill(4 * 5 * 2));
    expect(new Set(seen.forecasts.map((f) => f.key))).toEqual(new Set(['bl-s1', 'bl-s2']));
    expect(await leftForAnalysis(t)).toEqual([]);
  }, 120_000);

  it('written by an instance without the lease, is analysed on the holder’s next pass', async () => {
    const { env, topics, clock } = await run.open(T0 + 120 * MIN);
    const opts = { clock, stations: STATIONS, detectors: LANES, grace_ms: 60_000 };
    // The holder consumes topics of its own; the other instance ingests the whole backlog.
    const holder = await run.central(env, { ...opts, topics: ownTopics() });
    await holder.central.finalize();
    const other = await run.central(env, { ...opts, topics });
    const atHolder = watch(holder);
    const atOther = watch(other);
    await waitProcessed(other, topics.bins, await produceBins(env.log, topics.bins, bins));
    expect(await other.central.finalize()).toEqual([]); // not the holder: it neither finalises nor analyses
    expect(atOther.windows.filter((w) => w.state === 'provisional')).toEqual([]);
    expect(atOther.forecasts).toEqual([]);
    expect(await leftForAnalysis(other)).toEqual([`detector ${4 * WINDOWS}`, `station ${2 * WINDOWS}`]);

    expect(await holder.central.finalize()).toEqual([]); // nothing to finalise, nothing emitted again
    expect(atHolder.windows).toEqual([]);
    expect(new Set(atHolder.forecasts.map((f) => f.key))).toEqual(new Set(['bl-s1', 'bl-s2']));
    expect(atHolder.forecasts.every((f) => f.issued_window_start_ms === T0 + (WINDOWS - 1) * 5 * MIN)).toBe(true);
    expect(await leftForAnalysis(holder)).toEqual([]);
  }, 120_000);
});
