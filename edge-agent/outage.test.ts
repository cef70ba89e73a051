/**
 * The gateway goes away for ten minutes of simulated traffic while the agent keeps polling and binning into
 * its on-disk outbox. When the gateway returns, every bin the outbox took arrives ((device_id, seq) at least
 * once, none missing) and the outbox empties.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { scaledClock } from '../platform/clock.ts';
import { buildFeedServer } from '../simulators/tmdd-feed/server.ts';
import { TrafficModel } from '../simulators/traffic-model.ts';
import { CORE_FEEDS, CORE_STATIONS } from '../simulators/waco/core.ts';
import { QUIET_PROBE, receiveBins } from '../test/agent-helpers.ts';
import { localGateway } from '../test/local-gateway.ts';
import { buildAgent } from './app.ts';
import { AgentConfigSchema } from './config.ts';
import { DEFAULT_OUTBOX, FileOutbox } from './outbox/file-outbox.ts';

const SPEEDUP = 60;

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('agent through a gateway outage', () => {
  it('delivers every bin after ten simulated minutes without a gateway, and empties its outbox', async () => {
    const clock = scaledClock(SPEEDUP);
    const logger = pino({ level: 'silent' });
    const local = await localGateway([{ device_id: 'agent-outage', secret: 'pw' }], clock, 3);
    const log = local.log;
    const feed = buildFeedServer({
      feeds: CORE_FEEDS, stations: CORE_STATIONS, model: new TrafficModel('outage'), clock, interval_ms: 20_000, history_intervals: 9,
      time_zone: 'America/Chicago', host: '127.0.0.1', port: 0,
    });
    await feed.start();
    let gateway = local.gateway;
    const port = Number(new URL(gateway.url()).port);

    const outbox = await FileOutbox.open({ ...DEFAULT_OUTBOX, dir: mkdtempSync(join(tmpdir(), 'wacoflow-outage-')) }, () => clock.now());
    const appended = new Set<number>();
    const append = outbox.append.bind(outbox);
    outbox.append = async (drafts, stamp) => {
      const bins = await append(drafts, stamp);
      for (const b of bins) appended.add(b.seq);
      return bins;
    };
    const agent = buildAgent(
      AgentConfigSchema.parse({
        device_id: 'agent-outage', site: 'waco', mqtt_url: gateway.url(), mqtt_password: 'pw', reconnect_ms: 200, ack_timeout_ms: 5_000,
        inputs: [{ driver: 'tmdd-http', name: 'txdot-i35', url: `${feed.feedUrl('txdot-i35')}/detectorDataMsg` }],
      }),
      { clock, logger, outbox, probe: QUIET_PROBE, clockState: () => ({ synced: true, offset_ms: 0 }), version: 'test', config_hash: 'test' },
    );

    const { bins: received, stop: stopReceiving } = await receiveBins(log, 'outage-test');

    try {
      agent.start();
      await until(() => received.size > 0, 30_000, 'the first bins');
      await gateway.stop(); // the gateway goes away…
      const outageStart = clock.now();
      await until(() => clock.now() - outageStart >= 10 * 60_000, 60_000, 'ten simulated minutes');
      const heldDuring = outbox.stats(clock.now()).depth;
      expect(heldDuring).toBeGreaterThan(100); // ten minutes of 18 lanes, held on disk
      gateway = await local.restart(port); // …and comes back on the same port
      await until(() => [...appended].every((q) => received.has(q)) && outbox.stats(clock.now()).depth === 0, 60_000, 'the backlog to drain');
      const missing = [...appended].filter((q) => !received.has(q));
      expect(missing).toEqual([]);
      expect(outbox.stats(clock.now()).depth).toBe(0);
    } finally {
      await stopReceiving();
      await agent.stop();
      await gateway.stop();
      await feed.stop();
    }
  }, 180_000);
});
