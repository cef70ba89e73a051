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
export async function receiveBins(log: Log, group: string, keep: (bin: Bin) => boolean = () => true): Promise<{ bins: Map<number, Bin>; stop(): Promise<void> }> {
  const bins = new Map<number, Bin>();
  const consumer = log.consumer(group);
  await consumer.run({
    topics: [KAFKA_TOPICS.bins],
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
