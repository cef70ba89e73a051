/**
 * Results on the log for other consumers: every window central writes goes to wacoflow.windows.v1 keyed by its
 * station (a detector's window by the station it belongs to, a corridor's by the corridor), so one station's
 * results stay in order on one partition. Detectors here are not in the inventory: central learns their
 * stations from their bins, and a central started later learns them from the detectors table.
 */
import { describe, expect, it } from 'vitest';
import { expecting, WINDOW_BATCH_RECORD, windowsOfRecord, type Bin, type Station, type WindowResult } from '../protocol/index.ts';
import type { Log } from '../platform/log/log.ts';
import { backends, produceBins, waitProcessed } from './testing.ts';
import { testEnv } from './test-env.ts';

const T0 = Date.UTC(2026, 10, 24, 6, 0, 0);
const MIN = 60_000;
const station = (id: string): Station => ({ station_id: id, name: id, kind: 'freeway', corridor_id: 'ou-c1', lat: 31.5, lon: -97.1, lanes: 2, free_flow_kmh: 110 });
const lanes = [['ou-s1-l1', 'ou-s1'], ['ou-s1-l2', 'ou-s1'], ['ou-s2-l1', 'ou-s2']] as const;

/** Minute bins for minutes [0, 10) of every lane: two whole windows. */
const bins: Bin[] = lanes.flatMap(([detector_id, station_id], lane) =>
  Array.from({ length: 10 }, (_, m) => ({
    device_id: `agent-ou-${lane}`, seq: m + 1, detector_id, station_id, bin_start_ms: T0 + m * MIN, bin_ms: MIN,
    clock: { synced: true, offset_ms: 0 }, measures: { ...expecting(3), volume: 2, samples_seen: 3 },
  })),
);

/** Reads `topic` from the start until `enough` holds for what was read; returns the records as key and result. */
async function readUntil(log: Log, topic: string, enough: (read: { key: string | null; w: WindowResult }[]) => boolean) {
  const read: { key: string | null; w: WindowResult }[] = [];
  const records: number[] = [];
  const consumer = log.consumer(`reader-${topic}`);
  await consumer.run({
    topics: [topic],
    eachBatch: async (batch) => {
      for (const r of batch.records) {
        const d = windowsOfRecord(r);
        if (!d.ok) throw d.error;
        expect(r.headers.type).toBe(WINDOW_BATCH_RECORD);
        records.push(d.windows.length);
        for (const w of d.windows) read.push({ key: r.key, w });
      }
    },
  });
  const end = Date.now() + 30_000;
  while (!enough(read) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  await consumer.stop();
  return { read, records };
}

describe.each(backends())('results on the log ($name)', (backend) => {
  const run = testEnv(backend);
  it('publishes every window keyed by its station, also after a restart', async () => {
    const { env, topics, clock } = await run.open(T0 + 10 * MIN);
    const stations = [station('ou-s1'), station('ou-s2')];
    const first = await run.central(env, { clock, stations, topics });
    await waitProcessed(first, topics.bins, await produceBins(env.log, topics.bins, bins));
    await first.central.stop();

    // A second central, which has seen no bin, makes the windows final: it knows the detectors from the table.
    const second = await run.central(env, { clock, stations, topics });
    clock.advance(2 * MIN);
    await second.central.finalize();

    const expectedKey = (w: WindowResult) => (w.level === 'detector' ? lanes.find(([d]) => d === w.key)![1] : w.key);
    const finals = (read: { w: WindowResult }[]) => read.filter(({ w }) => w.state === 'final' && w.status === 'ok');
    // Two windows each: three detectors, two stations, one corridor.
    const { read, records } = await readUntil(env.log, topics.windows, (r) => finals(r).length >= 12);
    // One record per station and commit: a station's detector windows ride with its own.
    expect(records.length).toBeLessThan(read.length);
    expect(Math.max(...records)).toBeGreaterThan(1);
    expect(finals(read).map(({ w }) => `${w.level}/${w.key}@${(w.window_start_ms - T0) / MIN}`).sort()).toEqual(
      [...lanes.map(([d]) => `detector/${d}`), 'station/ou-s1', 'station/ou-s2', 'corridor/ou-c1'].flatMap((k) => [`${k}@0`, `${k}@5`]).sort(),
    );
    // A provisional result reaches the log only while its window is not yet due: the first window was already
    // past its end + grace when its bins arrived, so the log carries its final result alone.
    const provisional = read.filter(({ w }) => w.state === 'provisional');
    expect(provisional.length).toBeGreaterThan(0);
    expect(new Set(provisional.map(({ w }) => (w.window_start_ms - T0) / MIN))).toEqual(new Set([5]));
    for (const { key, w } of read) expect(key, `${w.level} ${w.key} (${w.state})`).toBe(expectedKey(w));
    expect(finals(read).filter(({ w }) => w.key === 'ou-s1').map(({ w }) => w.volume)).toEqual([20, 20]);
  }, 90_000);
});
