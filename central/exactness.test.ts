/**
 * Exactness: raw samples are binned as an agent bins them, the bins reach central shuffled, with a fifth of them
 * delivered twice, and central is restarted half-way. They all arrive after their windows' deadlines, a backlog:
 * each window is written final, then revised by the later batches that bring it more bins. Every window must
 * equal a computation straight from the raw samples, written here without the bin algebra: count, time-weighted
 * occupancy, count-weighted speed, extremes and the observed fraction.
 */
import { describe, expect, it } from 'vitest';
import { aggregateSamples, WINDOW_MS, type Bin, type Sample, type Station, type WindowResult } from '../protocol/index.ts';
import { rng } from '../simulators/traffic-model.ts';
import { toWindowResult } from './windows/result.ts';
import { backends, produceBins, startCentral, waitProcessed } from './testing.ts';
import { testEnv } from './test-env.ts';

const T0 = Date.UTC(2026, 10, 24, 7, 0, 0);
const SAMPLE_MS = 20_000;
const SPAN_MS = 30 * 60_000;

const station = (id: string, corridor: string | null): Station => ({
  station_id: id, name: id, kind: 'freeway', corridor_id: corridor, lat: 31.5, lon: -97.1, lanes: 2, free_flow_kmh: 110,
});
const STATIONS = [station('ex-a', 'ex-corridor'), station('ex-b', 'ex-corridor'), station('ex-c', null)];
const DETECTORS = STATIONS.flatMap((s) => [1, 2].map((l) => ({ detector_id: `${s.station_id}-l${l}`, station_id: s.station_id })));

function rawSamples(rand: () => number): Sample[] {
  const out: Sample[] = [];
  for (const d of DETECTORS) {
    for (let t = T0; t < T0 + SPAN_MS; t += SAMPLE_MS) {
      if (rand() < 0.08) continue; // a lost reading: the window's observed fraction must show it
      const volume = rand() < 0.05 ? null : Math.floor(rand() * 12);
      out.push({
        detector_id: d.detector_id, station_id: d.station_id, start_ms: t, duration_ms: SAMPLE_MS,
        volume, occupancy_pct: rand() < 0.05 ? null : Math.round(rand() * 4000) / 100, speed_kmh: rand() < 0.1 ? null : 40 + Math.round(rand() * 800) / 10, status: 'ok',
      });
    }
  }
  return out;
}

/** Edge binning into 60-second bins, one device per station, seqs in bin order. */
function binsOf(samples: Sample[]): Bin[] {
  const seqs = new Map<string, number>();
  const detectors = new Map(DETECTORS.map((d) => [d.detector_id, d.station_id]));
  return aggregateSamples(samples, 60_000, SAMPLE_MS, { detectors, from_ms: T0, to_ms: T0 + SPAN_MS }).map((slot) => {
    const device_id = `agent-${slot.station_id}`;
    const seq = (seqs.get(device_id) ?? 0) + 1;
    seqs.set(device_id, seq);
    return { device_id, seq, detector_id: slot.detector_id, station_id: slot.station_id, bin_start_ms: slot.slot_start_ms, bin_ms: 60_000, clock: { synced: true, offset_ms: 0 }, measures: slot.measures };
  });
}

interface Expected {
  volume: number | null;
  occupancy_pct: number | null;
  speed_kmh: number | null;
  speed_min_kmh: number | null;
  speed_max_kmh: number | null;
  observed_fraction: number;
}

/** Straight from the samples of one window, for the detectors given. */
function expectedOf(samples: Sample[], detectors: string[], start: number): Expected {
  const mine = samples.filter((s) => detectors.includes(s.detector_id) && s.start_ms >= start && s.start_ms < start + WINDOW_MS);
  const counts = mine.filter((s) => s.volume !== null);
  const occ = mine.filter((s) => s.occupancy_pct !== null);
  const speeds = mine.filter((s) => s.volume !== null && s.volume > 0 && s.speed_kmh !== null && s.speed_kmh > 0);
  const weight = speeds.reduce((n, s) => n + s.volume!, 0);
  return {
    volume: counts.length ? counts.reduce((n, s) => n + s.volume!, 0) : null,
    occupancy_pct: occ.length ? occ.reduce((n, s) => n + s.occupancy_pct! * s.duration_ms, 0) / occ.reduce((n, s) => n + s.duration_ms, 0) : null,
    speed_kmh: weight > 0 ? speeds.reduce((n, s) => n + s.speed_kmh! * s.volume!, 0) / weight : null,
    speed_min_kmh: speeds.length ? Math.min(...speeds.map((s) => s.speed_kmh!)) : null,
    speed_max_kmh: speeds.length ? Math.max(...speeds.map((s) => s.speed_kmh!)) : null,
    observed_fraction: mine.length / ((detectors.length * WINDOW_MS) / SAMPLE_MS),
  };
}

function shuffle<T>(items: T[], rand: () => number): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

function close(actual: number | null, expected: number | null): boolean {
  if (actual === null || expected === null) return actual === expected;
  return Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected));
}

describe.each(backends())('central windows are exact ($name)', (backend) => {
  const run = testEnv(backend);
  it('equal an independent computation from the raw samples, through duplicates, reordering, a restart and both record forms', async () => {
    const rand = rng('exactness', 20261128); // deterministic: a failure replays exactly
    const samples = rawSamples(rand);
    const bins = binsOf(samples);
    const delivered = shuffle([...bins, ...bins.filter(() => rand() < 0.2)], rand);
    const half = Math.floor(delivered.length / 2);

    const { env, topics, clock } = await run.open(T0 + SPAN_MS + 10 * 60_000);
    const opts = { clock, stations: STATIONS, detectors: DETECTORS, topics };

    const first = await startCentral(env, opts);
    const before = await produceBins(env.log, topics.bins, delivered.slice(0, half));
    await waitProcessed(first, topics.bins, before);
    await first.central.stop();

    // The rest as an older gateway wrote them, one bin per record: central reads both forms.
    const after = await produceBins(env.log, topics.bins, delivered.slice(half), { one_per_record: true });
    const second = await run.central(env, opts);
    await waitProcessed(second, topics.bins, before + after);
    await second.central.finalize();

    const lookup = (level: string, key: string) => STATIONS.find((s) => level === 'station' && s.station_id === key) ?? null;
    const checks: { level: 'detector' | 'station' | 'corridor'; key: string; detectors: string[] }[] = [
      ...DETECTORS.map((d) => ({ level: 'detector' as const, key: d.detector_id, detectors: [d.detector_id] })),
      ...STATIONS.map((s) => ({ level: 'station' as const, key: s.station_id, detectors: DETECTORS.filter((d) => d.station_id === s.station_id).map((d) => d.detector_id) })),
      { level: 'corridor', key: 'ex-corridor', detectors: DETECTORS.filter((d) => d.station_id !== 'ex-c').map((d) => d.detector_id) },
    ];
    let compared = 0;
    for (const c of checks) {
      const rows = await second.store.windowsOf(c.level, c.key, T0, T0 + SPAN_MS);
      expect(rows.map((r) => r.window_start_ms), `${c.level} ${c.key}`).toEqual(Array.from({ length: SPAN_MS / WINDOW_MS }, (_, i) => T0 + i * WINDOW_MS));
      for (const row of rows) {
        const got: WindowResult = toWindowResult(row, lookup);
        const want = expectedOf(samples, c.detectors, row.window_start_ms);
        expect([got.state, got.revision > 0], `${c.level} ${c.key} @${row.window_start_ms}`).toEqual(got.state === 'final' ? ['final', false] : ['revised', true]);
        for (const k of Object.keys(want) as (keyof Expected)[]) {
          expect(close(got[k], want[k]), `${c.level} ${c.key} @${row.window_start_ms} ${k}: ${got[k]} vs ${want[k]}`).toBe(true);
        }
        compared++;
      }
    }
    expect(compared).toBe((DETECTORS.length + STATIONS.length + 1) * (SPAN_MS / WINDOW_MS));
    expect(await second.store.countedBins()).toBe(bins.length); // every duplicate dropped, every bin kept once
  }, 120_000);
});
