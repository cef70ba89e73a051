/**
 * The rolling view: every station's last five minutes up to its own latest data, advanced as data arrives and
 * served with the station over HTTP.
 */
import { describe, expect, it } from 'vitest';
import { expecting, type Bin, type Station, type WindowResult } from '../protocol/index.ts';
import { rollingShares } from './app.ts';
import { rollingRow } from './store/analytics-store.ts';
import { backends, produceBins, waitProcessed } from './testing.ts';
import { testEnv } from './test-env.ts';

const T0 = Date.UTC(2026, 10, 24, 6, 0, 0);
const MIN = 60_000;
const station: Station = { station_id: 'ro-s1', name: 'ro-s1', kind: 'freeway', corridor_id: null, lat: 31.5, lon: -97.1, lanes: 2, free_flow_kmh: 110 };

/** Minute bins of lane `lane` for minutes [from, to), with `minute + 1` vehicles each. */
const bins = (lane: number, from: number, to: number): Bin[] =>
  Array.from({ length: to - from }, (_, i) => from + i).map((m) => ({
    device_id: `agent-ro-${lane}`, seq: m + 1, detector_id: `ro-s1-l${lane}`, station_id: 'ro-s1', bin_start_ms: T0 + m * MIN, bin_ms: MIN,
    clock: { synced: true, offset_ms: 0 }, measures: { ...expecting(3), volume: m + 1, samples_seen: 3 },
  }));
const sum = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i + 1).reduce((a, b) => a + b, 0);

describe.each(backends())('rolling 5-minute view ($name)', (backend) => {
  const run = testEnv(backend);
  it('covers the five minutes before the station’s latest bin, and moves with it', async () => {
    const { env, topics, clock } = await run.open(T0 + 8 * MIN);
    const t = await run.central(env, { clock, stations: [station], topics });
    const events: WindowResult[] = [];
    t.central.events.on('rolling', (r: WindowResult) => events.push(r));
    await t.central.finalize(); // takes the lease: the rolling view runs on its holder

    // Lane 1 has reached minute 7, lane 2 only minute 6: the view ends at 7 and shows lane 2 as it is.
    const first = [...bins(1, 0, 7), ...bins(2, 0, 6)];
    let records = await produceBins(env.log, topics.bins, first);
    await waitProcessed(t, topics.bins, records);
    const [r1] = await t.central.rolling();
    expect(r1).toMatchObject({ key: 'ro-s1', window_start_ms: T0 + 2 * MIN, window_end_ms: T0 + 7 * MIN, volume: sum(2, 7) + sum(2, 6), state: 'provisional' });
    expect(r1!.observed_fraction).toBeCloseTo(9 / 10, 9);
    // Of that seven-minute batch, only bins the view can still cover are kept: from minute 2 on.
    const kept = await t.store.db.query<{ n: number }>("SELECT sum(json_array_length(bins))::int AS n FROM recent_bins WHERE station_id = 'ro-s1'");
    expect(kept.rows[0]!.n).toBe(5 + 4);

    const more = [...bins(1, 7, 9), ...bins(2, 6, 9)];
    records += await produceBins(env.log, topics.bins, more);
    await waitProcessed(t, topics.bins, records);
    const [r2] = await t.central.rolling();
    expect(r2).toMatchObject({ window_start_ms: T0 + 4 * MIN, window_end_ms: T0 + 9 * MIN, volume: 2 * sum(4, 9) });
    expect(events.map((e) => e.window_end_ms)).toEqual([T0 + 7 * MIN, T0 + 9 * MIN]);

    const { port } = t.central.address()!;
    const body = (await (await fetch(`http://127.0.0.1:${port}/api/stations`)).json()) as { stations: { rolling: WindowResult | null }[] };
    expect(body.stations[0]!.rolling).toMatchObject({ window_end_ms: T0 + 9 * MIN, volume: 2 * sum(4, 9) });
  }, 60_000);

  it('refreshed a share of the stations at a time, every station in exactly one share', async () => {
    const { env, topics, clock } = await run.open(T0 + 8 * MIN);
    const ids = Array.from({ length: 12 }, (_, i) => `ro-share-${i}`);
    const t = await run.central(env, { clock, stations: ids.map((id) => ({ ...station, station_id: id, name: id })), topics });
    const spread = ids.flatMap((station_id, i) => bins(1, 0, 6).map((b) => ({ ...b, device_id: `agent-${station_id}`, station_id, detector_id: `${station_id}-l1`, measures: { ...b.measures, volume: i } })));
    await waitProcessed(t, topics.bins, await produceBins(env.log, topics.bins, spread));
    const parts = 3;
    const shares = [];
    for (let part = 0; part < parts; part++) shares.push((await t.store.analytics.refreshRolling(T0 + 8 * MIN, 5 * MIN, { part, parts })).map((r) => r.station_id));
    expect(shares.flat().sort()).toEqual([...ids].sort());
    expect(shares.filter((s) => s.length > 0).length).toBeGreaterThan(1); // the hash spreads them
    const all = await t.store.analytics.refreshRolling(T0 + 8 * MIN, 5 * MIN);
    expect(all.map((r) => [r.station_id, r.measures.volume])).toEqual(ids.map((id, i) => [id, 5 * i]).sort());
  }, 60_000);
});

describe('a station’s rolling row from its detectors’ sums', () => {
  const part = (detector_id: string, minutes: number, volume: number) => ({
    station_id: 's', end_ms: T0 + 5 * MIN, detectors: ['d1', 'd2', 'd3'], detector_id, covered_ms: minutes * MIN,
    measures: { ...expecting(3 * minutes), volume, samples_seen: 3 * minutes },
  });
  it('merges them, and counts what a short or silent detector should have sent as expected, not seen', () => {
    // d1 covers the whole span, d2 two minutes of it, d3 nothing: d2 owes three minutes at its own rate, d3 five
    // at the mean rate of the other two (3 a minute).
    const row = rollingRow([part('d1', 5, 10), part('d2', 2, 4)], 5 * MIN, T0 + 6 * MIN);
    expect(row).toMatchObject({ station_id: 's', window_start_ms: T0, window_end_ms: T0 + 5 * MIN, updated_ms: T0 + 6 * MIN });
    expect(row.measures.volume).toBe(14);
    expect(row.measures.samples_seen).toBe(21);
    expect(row.measures.samples_expected).toBe(15 + 6 + 9 + 15);
  });
});

describe('the shares of a refresh', () => {
  it('keep a town’s stations in one refresh a minute and spread a city’s over the minute', () => {
    expect([80, 1_000, 1_001, 10_000].map(rollingShares)).toEqual([1, 1, 12, 12]);
  });
});
