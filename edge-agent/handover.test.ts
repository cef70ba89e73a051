/**
 * A new configuration applied in the process (remote configuration) replaces the running agent with one built
 * on the new settings. The bins still open at that moment are handed over with where each input got to, so a
 * feed that cannot give its samples again (here one that serves only its latest interval, as a serial sensor
 * does) loses none of them, and none is taken twice. Without the hand-over, the bin open at the change comes out
 * short: that is what it is for.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { scaledClock, type Clock } from '../platform/clock.ts';
import { buildFeedServer } from '../simulators/tmdd-feed/server.ts';
import { TrafficModel } from '../simulators/traffic-model.ts';
import { CORE_FEEDS, CORE_STATIONS } from '../simulators/waco/core.ts';
import { QUIET_PROBE, receiveBins } from '../test/agent-helpers.ts';
import { localGateway } from '../test/local-gateway.ts';
import { buildAgent, type Agent } from './app.ts';
import { AgentConfigSchema } from './config.ts';
import { MemoryOutbox } from './outbox/memory-outbox.ts';
import { MemorySeqSource } from './outbox/seq-file.ts';
import { FULL_SCALE } from '../test/scale.ts';

const SPEEDUP = 10;

async function simulated(clock: Clock, ms: number): Promise<void> {
  const end = clock.now() + ms;
  while (clock.now() < end) await new Promise((r) => setTimeout(r, 50));
}

/** Runs an agent, replaces it mid-bin with one on another heartbeat interval, and returns the bins delivered. */
async function changeMidBin(handOver: boolean) {
  const clock = scaledClock(SPEEDUP);
  const local = await localGateway([{ device_id: 'agent-handover', secret: 'pw' }], clock);
  // The feed serves only its latest 20 s interval: what an agent missed, or dropped, is gone. The agents poll
  // twice an interval (taking nothing twice), so one poll held up on a busy machine (2 s of real time at this
  // speed-up) does not lose a sample the hand-over is not about.
  const feed = buildFeedServer({
    feeds: CORE_FEEDS, stations: CORE_STATIONS, model: new TrafficModel('handover'), clock, interval_ms: 20_000, history_intervals: 1,
    time_zone: 'America/Chicago', host: '127.0.0.1', port: 0,
  });
  await feed.start();
  const outbox = new MemoryOutbox(new MemorySeqSource(0));
  const { bins, stop } = await receiveBins(local.log, `handover-${handOver}`);
  const config = (heartbeat_interval_ms: number) =>
    AgentConfigSchema.parse({
      device_id: 'agent-handover', site: 'waco', mqtt_url: local.gateway.url(), mqtt_password: 'pw', reconnect_ms: 200, heartbeat_interval_ms,
      bin_ms: 60_000, close_delay_ms: 50_000,
      inputs: [{ driver: 'tmdd-http', name: 'i35', url: `${feed.feedUrl('txdot-i35')}/detectorDataMsg`, poll_interval_ms: 10_000, sample_interval_ms: 20_000 }],
    });
  const deps = { clock, logger: pino({ level: 'silent' }), outbox, probe: QUIET_PROBE, clockState: () => ({ synced: true, offset_ms: 0 }), version: 'test', config_hash: 'test' };
  let agent: Agent = buildAgent(config(30_000), deps);
  try {
    agent.start();
    await simulated(clock, 60_000);
    // Late in a bin, when two of its three intervals were taken and the feed serves only the second any more.
    while (clock.now() % 60_000 < 45_000 || clock.now() % 60_000 > 55_000) await new Promise((r) => setTimeout(r, 20));
    const changed_ms = clock.now();
    await agent.stop({ keep_outbox: true });
    agent = buildAgent(config(15_000), { ...deps, ...(handOver ? { carry: agent.handOver() } : {}) });
    agent.start();
    await simulated(clock, 120_000); // the bin open at the change is sealed 50 s after it ends
    await agent.flush();
    const open = Math.floor(changed_ms / 60_000) * 60_000;
    return { bins: [...bins.values()], open };
  } finally {
    await agent.stop();
    await stop();
    await local.gateway.stop();
    await feed.stop();
  }
}

describe('an agent replaced on a new configuration', () => {
  it('hands over its open bins: the bin open at the change has every sample, once', async () => {
    const { bins, open } = await changeMidBin(true);
    const atChange = bins.filter((b) => b.bin_start_ms === open);
    expect(atChange.length).toBeGreaterThan(0);
    for (const b of atChange) expect([b.detector_id, b.measures.samples_seen]).toEqual([b.detector_id, b.measures.samples_expected]);
    const perInterval = new Map<string, number>();
    for (const b of bins) perInterval.set(`${b.detector_id}@${b.bin_start_ms}`, (perInterval.get(`${b.detector_id}@${b.bin_start_ms}`) ?? 0) + b.measures.samples_seen);
    expect([...perInterval.values()].every((n) => n <= 3)).toBe(true);
  }, 60_000);

  // Why the hand-over is there, shown by its absence: at full scale only (test/scale.ts), CI has the case above.
  it.runIf(FULL_SCALE)('without the hand-over, the bin open at the change comes out short', async () => {
    const { bins, open } = await changeMidBin(false);
    const atChange = bins.filter((b) => b.bin_start_ms === open);
    expect(atChange.some((b) => b.measures.samples_seen < b.measures.samples_expected || b.measures.samples_expected < 3)).toBe(true);
  }, 60_000);
});
