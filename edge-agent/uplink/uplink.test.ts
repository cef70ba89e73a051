/** The uplink after an outage: live bins go at once, the backlog drains no faster than configured. */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { decode, expecting, KAFKA_TOPICS, type Bin } from '../../protocol/index.ts';
import { scaledClock } from '../../platform/clock.ts';
import { localGateway } from '../../test/local-gateway.ts';
import { MemoryOutbox } from '../outbox/memory-outbox.ts';
import { MemorySeqSource } from '../outbox/seq-file.ts';
import { MqttUplink } from './mqtt-uplink.ts';

describe('MqttUplink draining a backlog', () => {
  it('sends live bins ahead of the backlog and drains the backlog at backlog_bins_per_s', async () => {
    const clock = scaledClock(10);
    const logger = pino({ level: 'silent' });
    const { gateway, log } = await localGateway([{ device_id: 'drain', secret: 'pw' }], clock);

    const outbox = new MemoryOutbox(new MemorySeqSource(0));
    const now = clock.now();
    const old = Math.floor((now - 86_400_000) / 60_000) * 60_000; // yesterday: backlog
    const stamp = { device_id: 'drain', clock: { synced: true, offset_ms: 0 } };
    const draft = (start: number, i: number) => ({ detector_id: `d${i % 8}`, station_id: 's', bin_start_ms: start + Math.floor(i / 8) * 60_000, bin_ms: 60_000, measures: expecting(3) });
    const backlog = await outbox.append(Array.from({ length: 1_000 }, (_, i) => draft(old, i)), stamp);

    const arrived: { bin: Bin; at_ms: number }[] = [];
    const consumer = log.consumer('drain-test');
    await consumer.run({ topics: [KAFKA_TOPICS.bins], eachBatch: async (b) => void arrived.push(...b.records.map((r) => ({ bin: decode('bin', r.value), at_ms: clock.now() }))) });

    const uplink = new MqttUplink(
      { url: gateway.url(), site: 'waco', device_id: 'drain', password: 'pw', max_bins_per_message: 100, max_inflight_messages: 4, ack_timeout_ms: 5_000, reconnect_ms: 200, live_window_ms: 300_000, backlog_bins_per_s: 100 },
      { outbox, clock, logger, takeDropped: () => ({}), restoreDropped: () => {} },
    );
    const started = clock.now();
    uplink.start();
    try {
      await new Promise((r) => setTimeout(r, 200));
      const live = await outbox.append([draft(Math.floor(clock.now() / 60_000) * 60_000 - 60_000, 0)], stamp);
      uplink.pump();
      const deadline = Date.now() + 30_000;
      // The log has a batch before its PUBACK reaches the uplink: wait for both.
      // At least once: a batch whose PUBACK was late on a loaded machine comes again; count distinct seqs.
      const distinct = () => new Set(arrived.map((a) => a.bin.seq)).size;
      while ((distinct() < 1_001 || outbox.stats(clock.now()).depth > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(distinct()).toBe(1_001);
      const liveAt = arrived.findIndex((a) => a.bin.seq === live[0]!.seq);
      expect(liveAt).toBeLessThan(500); // ahead of most of the backlog, not behind it
      // 1,000 backlog bins at 100 per simulated second, with a one-message bucket: at least 9 simulated seconds.
      const lastBacklog = Math.max(...arrived.filter((a) => a.bin.seq <= backlog.at(-1)!.seq).map((a) => a.at_ms));
      expect(lastBacklog - started).toBeGreaterThanOrEqual(9_000);
      expect(outbox.stats(clock.now()).depth).toBe(0);
    } finally {
      await consumer.stop();
      await uplink.stop();
      await gateway.stop();
    }
  }, 60_000);
});
