/** Shared pieces of the tests that run agents against a log. */
import { expect } from 'vitest';
import { decode, KAFKA_TOPICS, type Bin } from '../protocol/index.ts';
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
      for (const r of b.records) {
        const bin = decode('bin', r.value);
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
 * none missing (nothing lost), and no detector interval carried by two different seqs (nothing counted twice).
 */
export function expectEveryBinOnce(bins: Map<number, Bin>): void {
  const seqs = [...bins.keys()].sort((a, b) => a - b);
  expect(seqs.length).toBeGreaterThan(0);
  const missing = seqs.length === 0 ? [] : Array.from({ length: seqs.at(-1)! - seqs[0]! + 1 }, (_, i) => seqs[0]! + i).filter((q) => !bins.has(q));
  expect(missing, 'seqs missing between the first and the last delivered').toEqual([]);
  const byInterval = new Map<string, number>();
  for (const b of bins.values()) {
    const k = `${b.detector_id}@${b.bin_start_ms}`;
    expect(byInterval.get(k), `${k} carried by seq ${byInterval.get(k)} and seq ${b.seq}`).toBeUndefined();
    byInterval.set(k, b.seq);
  }
}
