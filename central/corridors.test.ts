/**
 * Corridor roll-ups outside the ingest transaction: a corridor window follows its stations, is exact when it
 * becomes final even if no instance rolled it up (one died with roll-ups pending), and is not revised when a
 * roll-up finds nothing new.
 */
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { expecting, mergeAll, WINDOW_MS, type Measures, type Station } from '../protocol/index.ts';
import { ManualClock } from '../platform/clock.ts';
import { CorridorRollUp } from './corridors.ts';
import { Store, type WindowRow } from './store/store.ts';
import { backends, ownTopics, startCentral } from './testing.ts';

const T0 = Date.UTC(2026, 10, 24, 6, 0, 0);
const station = (id: string): Station => ({ station_id: id, name: id, kind: 'freeway', corridor_id: 'co-c1', lat: 31.5, lon: -97.1, lanes: 2, free_flow_kmh: 110 });
const STATIONS = [station('co-a'), station('co-b')];
const measures = (volume: number): Measures => ({ ...expecting(30), volume, samples_seen: 30, speed_weight: volume, speed_sum: volume * 95, speed_inverse_sum: volume / 95, speed_min_kmh: 90, speed_max_kmh: 100 });
const stationRow = (key: string, volume: number, window_start_ms = T0): WindowRow => ({
  level: 'station', key, window_start_ms, window_end_ms: window_start_ms + WINDOW_MS, revision: 0, state: 'provisional', clock_untrusted: false,
  measures: measures(volume), updated_ms: T0,
});

describe.each(backends())('corridor roll-ups ($name)', (backend) => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    while (closers.length) await closers.pop()!();
  });

  async function setUp() {
    const env = await backend.open();
    closers.push(env.close);
    const store = new Store(env.db);
    await store.migrate();
    await store.upsertStations(STATIONS, T0);
    const clock = new ManualClock(T0 + 2 * WINDOW_MS);
    const emitted: WindowRow[] = [];
    const rollUp = new CorridorRollUp({ store, clock, logger: pino({ level: 'silent' }), stations: new Map(STATIONS.map((s) => [s.station_id, s])), onWindows: (rows) => emitted.push(...rows) });
    const corridor = async () => (await store.windowsOf('corridor', 'co-c1', T0, T0 + WINDOW_MS))[0];
    return { store, rollUp, emitted, corridor };
  }

  it('follows its stations, and a roll-up that finds nothing new leaves a final window unrevised', async () => {
    const { store, rollUp, emitted, corridor } = await setUp();
    const rows = await store.transaction((tx) => store.writeWindows(tx, [stationRow('co-a', 10), stationRow('co-b', 7)]));
    rollUp.touched(rows);
    await rollUp.idle();
    expect(await corridor()).toMatchObject({ state: 'provisional', revision: 0, measures: mergeAll([measures(10), measures(7)]) });
    expect(emitted.map((r) => r.key)).toEqual(['co-c1']);

    await store.finalizeDue(T0 + 2 * WINDOW_MS, 60_000);
    rollUp.touched(rows); // the same stations again: nothing to roll up
    await rollUp.idle();
    expect(await corridor()).toMatchObject({ state: 'final', revision: 0 });
    expect(emitted).toHaveLength(1);

    const revised = await store.transaction((tx) => store.writeWindows(tx, [{ ...stationRow('co-b', 9), state: 'provisional' }]));
    rollUp.touched(revised);
    await rollUp.idle();
    expect(await corridor()).toMatchObject({ state: 'revised', revision: 1, measures: mergeAll([measures(10), measures(9)]) });
  });

  it('is exact when it becomes final, though no instance rolled it up', async () => {
    const env = await backend.open();
    closers.push(env.close);
    const clock = new ManualClock(T0 + WINDOW_MS);
    const t = await startCentral(env, { clock, stations: STATIONS, topics: ownTopics(), grace_ms: 60_000 });
    closers.push(() => t.central.stop());
    await t.central.finalize(); // takes the lease; nothing is due yet
    // Station windows committed by an instance that died before its roll-up ran.
    await t.store.transaction((tx) => t.store.writeWindows(tx, [stationRow('co-a', 4), stationRow('co-b', 5), stationRow('co-a', 1, T0 + WINDOW_MS)]));
    const corridor = (start: number) => t.store.windowsOf('corridor', 'co-c1', start, start + WINDOW_MS).then((r) => r[0]);
    expect(await corridor(T0)).toBeUndefined();
    clock.advance(WINDOW_MS);
    await t.central.finalize();
    expect(await corridor(T0)).toMatchObject({ state: 'final', revision: 0, measures: mergeAll([measures(4), measures(5)]) });
    expect(await corridor(T0 + WINDOW_MS)).toBeUndefined(); // not due yet: left to the instances' roll-ups
  });

  it('is rolled up by the instance that takes over the partitions, before it is due', async () => {
    const env = await backend.open();
    closers.push(env.close);
    const store = new Store(env.db);
    await store.migrate();
    // An instance committed these station windows and died before rolling up their corridor.
    await store.transaction((tx) => store.writeWindows(tx, [stationRow('co-a', 3), stationRow('co-b', 2)]));
    const t = await startCentral(env, { clock: new ManualClock(T0 + 60_000), stations: STATIONS, topics: ownTopics() });
    closers.push(() => t.central.stop());
    const deadline = Date.now() + 10_000;
    let row: WindowRow | undefined;
    while (!row && Date.now() < deadline) {
      row = (await t.store.windowsOf('corridor', 'co-c1', T0, T0 + WINDOW_MS))[0];
      if (!row) await new Promise((r) => setTimeout(r, 50));
    }
    expect(row).toMatchObject({ state: 'provisional', measures: mergeAll([measures(3), measures(2)]) });
  });
});
