/** Shared pieces of the tests that run agents against a log. */
import { expect } from 'vitest';
import { binsIn, KAFKA_TOPICS, type Bin } from '../protocol/index.ts';
import type { Log } from '../platform/log/log.ts';
import type { SystemProbe } from '../edge-agent/health/system-probe.ts';

/** A board that reports nothing about itself. */
export const QUIET_PROBE: SystemProbe = { cpu_pct: () => 0, mem_rss_bytes: () => 0, temperature_c: async () => null, disk_free_bytes: async () => null };

/**
 * Collects the bins on the log's bins topic (those `keep` accepts), by seq, failing the test if one seq ever
 * stands for two different bins: a resend must be the same bin.
 */
export async function receiveBins(log: Log, group: string, keep: (bin: Bin) => boolean = () => true, topic: string = KAFKA_TOPICS.bins): Promise<{ bins: Map<number, Bin>; stop(): Promise<void> }> {
  const bins = new Map<number, Bin>();
  const consumer = log.consumer(group);
  await consumer.run({
    topics: [topic],
    eachBatch: async (b) => {
      for (const bin of b.records.flatMap(binsIn)) {
        if (!keep(bin)) continue;
        const seen = bins.get(bin.seq);
        if (seen) expect(seen, `seq ${bin.seq} stands for two bins`).toEqual(bin);
        bins.set(bin.seq, bin);
      }
    },
  });
  return { bins, stop: () => consumer.stop() };
}

/**
 * What an agent delivered, checked as central's dedupe and windows rely on: seqs from the first to the last with
 * none missing (nothing lost), and each detector interval binned once (nothing counted twice): one bin that
 * expects its samples, and no more samples in all than that. A late sample may follow in a supplementary bin,
 * which expects none of its own.
 */
export function expectEveryBinOnce(bins: Map<number, Bin>): void {
  const seqs = [...bins.keys()].sort((a, b) => a - b);
  expect(seqs.length).toBeGreaterThan(0);
  const missing = Array.from({ length: seqs.at(-1)! - seqs[0]! + 1 }, (_, i) => seqs[0]! + i).filter((q) => !bins.has(q));
  expect(missing, 'seqs missing between the first and the last delivered').toEqual([]);
  const byInterval = new Map<string, { seen: number; expected: number; binned: number; seqs: number[] }>();
  for (const b of bins.values()) {
    const k = `${b.detector_id}@${new Date(b.bin_start_ms).toISOString()}`;
    const t = byInterval.get(k) ?? { seen: 0, expected: 0, binned: 0, seqs: [] };
    if (b.measures.samples_expected > 0) t.binned++;
    t.seen += b.measures.samples_seen;
    t.expected += b.measures.samples_expected;
    t.seqs.push(b.seq);
    byInterval.set(k, t);
  }
  const twice = [...byInterval].filter(([, t]) => t.binned > 1 || t.seen > t.expected).map(([k, t]) => `${k}: binned ${t.binned} times, ${t.seen} samples of ${t.expected}, in seqs ${t.seqs.join(', ')}`);
  expect(twice, 'intervals carrying more samples than they expect').toEqual([]);
}
