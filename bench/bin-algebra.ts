/**
 * Throughput of the hot pure paths: samples → bins (agent), bins → windows and the dedupe record (central), and
 * decoding a bin batch off the wire (gateway). Prints a Markdown table of medians over several rounds; never gates CI.
 *
 *   npm run bench
 */
import { cpus } from 'node:os';
import { aggregateSamples, decode, encode, expecting, merge, mergeAll, type Bin, type Sample } from '../protocol/index.ts';
import { foldBins } from '../central/windows/fold.ts';
import { admitSeqs, type SeqRun } from '../central/store/seq-runs.ts';

const ROUNDS = 7;
const T0 = 1_764_230_400_000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function time(label: string, items: number, fn: () => void): { label: string; items: number; ms: number; per_s: number } {
  fn(); // warm up
  const runs: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t = process.hrtime.bigint();
    fn();
    runs.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const ms = median(runs);
  return { label, items, ms, per_s: (items / ms) * 1000 };
}

// One day of 20-second samples for 100 lanes: 432,000 samples.
const samples: Sample[] = [];
for (let lane = 0; lane < 100; lane++) {
  for (let t = 0; t < 86_400_000; t += 20_000) {
    samples.push({ detector_id: `d${lane}`, station_id: `s${lane % 25}`, start_ms: T0 + t, duration_ms: 20_000, volume: (lane + t / 20_000) % 9, occupancy_pct: 7, speed_kmh: 90 + (lane % 20), status: 'ok' });
  }
}
const bins: Bin[] = aggregateSamples(samples, 60_000, 20_000).map((b, i) => ({
  device_id: 'agent-1', seq: i, detector_id: b.detector_id, station_id: b.station_id, bin_start_ms: b.slot_start_ms, bin_ms: 60_000,
  clock: { synced: true, offset_ms: 0 }, measures: b.measures,
}));
const measures = bins.map((b) => b.measures);
const wire = encode({ v: 1, device_id: 'agent-1', sent_ms: T0, bins: bins.slice(0, 200) });

const results = [
  time('merge two aggregates', measures.length, () => {
    let acc = expecting(0);
    for (const m of measures) acc = merge(acc, m);
  }),
  time('samples → 60 s bins (agent)', samples.length, () => void aggregateSamples(samples, 60_000, 20_000)),
  time('bins → detector + station windows (central fold)', bins.length, () => void foldBins(new Map(), bins, { now_ms: T0 })),
  time('bins against the dedupe record, 10,000 a batch (central dedupe)', bins.length, () => {
    let stored: SeqRun[] = [];
    for (let i = 0; i < bins.length; i += 10_000) {
      const change = admitSeqs(stored, bins.slice(i, i + 10_000));
      stored = [...stored.filter((r) => !change.gone.includes(r)), ...change.added];
    }
  }),
  time('decode a 200-bin batch (gateway)', 200 * 50, () => {
    for (let i = 0; i < 50; i++) decode('bin_batch', wire);
  }),
  time('mergeAll of one day per detector', measures.length, () => void mergeAll(measures)),
];

console.log(`Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, ${new Date().toISOString().slice(0, 10)}, median of ${ROUNDS} rounds\n`);
console.log('| operation | items | median ms | items/s |');
console.log('|---|---:|---:|---:|');
for (const r of results) console.log(`| ${r.label} | ${r.items.toLocaleString('en-US')} | ${r.ms.toFixed(1)} | ${Math.round(r.per_s).toLocaleString('en-US')} |`);
