/**
 * The uplink after an outage: live bins go at once, the backlog drains no faster than configured; and on a
 * half-open link it reconnects after the acknowledgement timeout rather than the keepalive.
 */
import { createRequire } from 'node:module';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { binsIn, expecting, KAFKA_TOPICS, type Bin } from '../../protocol/index.ts';
import { scaledClock, systemClock } from '../../platform/clock.ts';
import { FaultProxy } from '../../chaos/proxy.ts';
import { localGateway } from '../../test/local-gateway.ts';
import { MemoryOutbox } from '../outbox/memory-outbox.ts';

/** mqtt-packet as mqtt.js loads it (a dependency of a dependency: the copy mqtt.js resolves, whichever that is). */
const mqttPacket = createRequire(createRequire(import.meta.url).resolve('mqtt'))('mqtt-packet') as { writeToStream: { cacheNumbers: boolean } };
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
    await consumer.run({ topics: [KAFKA_TOPICS.bins], eachBatch: async (b) => void arrived.push(...b.records.flatMap(binsIn).map((bin) => ({ bin, at_ms: clock.now() }))) });

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
      // The uplink turned off mqtt-packet's table of 65,536 pre-built packet ids (6.6 MB of a board's heap).
      expect(mqttPacket.writeToStream.cacheNumbers).toBe(false);
    } finally {
      await consumer.stop();
      await uplink.stop();
      await gateway.stop();
    }
  }, 60_000);
});

describe('MqttUplink on a half-open link', () => {
  it('reconnects after a missing PUBACK instead of waiting out the keepalive, and delivers everything', async () => {
    const clock = systemClock;
    const logger = pino({ level: 'silent' });
    const { gateway, log } = await localGateway([{ device_id: 'half-open', secret: 'pw' }], clock);
    const proxy = await new FaultProxy({ host: '127.0.0.1', port: Number(new URL(gateway.url()).port) }).listen();
    const outbox = new MemoryOutbox(new MemorySeqSource(0));
    const stamp = { device_id: 'half-open', clock: { synced: true, offset_ms: 0 } };
    const t0 = Math.floor(Date.now() / 60_000) * 60_000 - 600_000;
    const drafts = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ detector_id: 'd1', station_id: 's', bin_start_ms: t0 + (from + i) * 60_000, bin_ms: 60_000, measures: expecting(3) }));
    const seqs = new Set<number>();
    const consumer = log.consumer('half-open-test');
    await consumer.run({ topics: [KAFKA_TOPICS.bins], eachBatch: async (b) => void b.records.flatMap(binsIn).forEach((bin) => seqs.add(bin.seq)) });
    // Keepalive at its default, 30 s: only the acknowledgement timeout can notice the dead link in time.
    const uplink = new MqttUplink(
      { url: `mqtt://127.0.0.1:${proxy.port}`, site: 'waco', device_id: 'half-open', password: 'pw', max_bins_per_message: 5, max_inflight_messages: 2, ack_timeout_ms: 1_000, reconnect_ms: 100, live_window_ms: 0, backlog_bins_per_s: null },
      { outbox, clock, logger, takeDropped: () => ({}), restoreDropped: () => {} },
    );
    uplink.start();
    const until = async (ok: () => boolean, ms: number) => {
      const deadline = Date.now() + ms;
      while (!ok() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      return ok();
    };
    try {
      await outbox.append(drafts(0, 5), stamp);
      uplink.pump();
      expect(await until(() => uplink.acknowledged() === 5, 10_000)).toBe(true);
      proxy.set('blackhole'); // the open connection goes silent for good, with no reset
      await outbox.append(drafts(5, 5), stamp);
      uplink.pump();
      await new Promise((r) => setTimeout(r, 300));
      proxy.set('pass'); // new connections work again; the old one never will
      const healed = Date.now();
      expect(await until(() => uplink.acknowledged() === 10 && outbox.stats(Date.now()).depth === 0, 15_000)).toBe(true);
      expect(Date.now() - healed).toBeLessThan(15_000); // keepalive alone would take 30–45 s
      expect(await until(() => seqs.size === 10, 5_000)).toBe(true);
    } finally {
      await consumer.stop();
      await uplink.stop();
      await proxy.close();
      await gateway.stop();
    }
  }, 60_000);
});
