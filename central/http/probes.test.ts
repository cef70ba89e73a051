/**
 * The orchestrator's probes: /livez fails only when the consume loop has failed or stalled (a restart would
 * help), /readyz whenever central cannot do its work (store, group, producer), each naming what it checked.
 */
import { EventEmitter } from 'node:events';
import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../platform/clock.ts';
import type { ConsumerProgress, LogProducer } from '../../platform/log/log.ts';
import { MemoryLog } from '../../platform/log/memory-log.ts';
import { StationIndex } from '../keys.ts';
import type { Store } from '../store/store.ts';
import { buildHttp } from './server.ts';
import { apiSource, LOOP_STALL_MS } from './source.ts';

function central(state: { consumer: ConsumerProgress | null; store: 'up' | 'down' | 'hung'; producer: boolean; kafka?: 'up' | 'down' }) {
  const query = async () => {
    if (state.store === 'down') throw new Error('connect ECONNREFUSED 10.0.0.5:5432');
    if (state.store === 'hung') await new Promise(() => {});
    return { rows: [] };
  };
  const source = apiSource({
    store: { db: { kind: 'postgres', query } } as unknown as Store,
    log: Object.assign(new MemoryLog(), {
      reachable: async () => {
        if (state.kafka === 'down') throw new Error('Kafka at kafka-0:9092 is not reachable: connect ECONNREFUSED');
      },
    }),
    clock: systemClock, logger: pino({ level: 'silent' }), events: new EventEmitter(), index: new StationIndex([]), stations: [],
    consumer: () => state.consumer,
    producer: () => (state.producer ? ({} as LogProducer) : null),
    admin_topic: 'wacoflow.admin.v1',
  });
  const app = buildHttp({ version: 'test', operator_token: null, registry: new Registry(), source });
  const get = async (url: string) => {
    const res = await app.inject({ url });
    return { status: res.statusCode, body: res.json() as { status: string; checks: Record<string, string> } };
  };
  return { get, close: () => app.close() };
}

const turning = (ago_ms: number, in_batch = 0): ConsumerProgress => ({ state: 'running', in_batch, last_turn_ms: Date.now() - ago_ms });

describe('central probes', () => {
  it('is live and ready when the loop turns, the store answers and the producer is connected', async () => {
    const c = central({ consumer: turning(1_000), store: 'up', producer: true });
    expect(await c.get('/livez')).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(await c.get('/readyz')).toEqual({ status: 200, body: { status: 'ok', checks: { store: 'answering', consumer: 'in the group', producer: 'connected' } } });
    await c.close();
  });

  it('stays live but not ready while PostgreSQL is down or hangs: a restart would not bring it back', async () => {
    for (const store of ['down', 'hung'] as const) {
      const c = central({ consumer: turning(0, 1), store, producer: true });
      expect((await c.get('/livez')).status).toBe(200);
      const ready = await c.get('/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body.checks.store).toMatch(store === 'down' ? /unreachable: connect ECONNREFUSED/ : /no answer within 2000 ms/);
      await c.close();
    }
  });

  it('is not ready before the consumer has joined its group or without a producer', async () => {
    const c = central({ consumer: { state: 'starting', in_batch: 0, last_turn_ms: Date.now() }, store: 'up', producer: false });
    const ready = await c.get('/readyz');
    expect(ready).toMatchObject({ status: 503, body: { checks: { consumer: 'starting', producer: 'not connected' } } });
    expect((await c.get('/livez')).status).toBe(200);
    await c.close();
  });

  it('is not live when the loop has stalled outside a batch while Kafka answers, or the Kafka client gave up', async () => {
    const stalled = central({ consumer: turning(LOOP_STALL_MS + 5_000), store: 'up', producer: true, kafka: 'up' });
    expect(await stalled.get('/livez')).toMatchObject({ status: 503, body: { checks: { consumer: 'stalled: no fetch or batch for 65 s while Kafka answers' } } });
    await stalled.close();
    // Kafka away: no fetch is the client retrying, and a restart would only wait for Kafka again.
    const away = central({ consumer: turning(LOOP_STALL_MS + 5_000), store: 'up', producer: true, kafka: 'down' });
    expect(await away.get('/livez')).toMatchObject({ status: 200, body: { checks: { consumer: expect.stringMatching(/^no fetch or batch for 65 s; waiting for Kafka \(Kafka at kafka-0:9092 is not reachable/) } } });
    await away.close();
    // A long batch (the database slow) is work, not a stall.
    const busy = central({ consumer: turning(LOOP_STALL_MS + 5_000, 2), store: 'up', producer: true });
    expect((await busy.get('/livez')).status).toBe(200);
    await busy.close();
    const failed = central({ consumer: { state: 'failed', in_batch: 0, last_turn_ms: Date.now() }, store: 'up', producer: true });
    expect((await failed.get('/livez')).status).toBe(503);
    expect((await failed.get('/readyz')).status).toBe(503);
    await failed.close();
  });
});
