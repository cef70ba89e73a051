import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ERR, WacoflowError } from './errors.ts';
import { waitForService } from './startup.ts';

const logger = pino({ level: 'silent' });
const down = () => new WacoflowError(ERR.LOG_UNAVAILABLE, 'Kafka at k:9092 is not reachable: ECONNREFUSED', { retriable: true });

describe('waitForService', () => {
  it('retries a retriable failure with growing pauses until the service answers', async () => {
    const at: number[] = [];
    const value = await waitForService('Kafka', async () => {
      at.push(Date.now());
      if (at.length < 4) throw down();
      return 'up';
    }, { logger, limit_s: 10, setting: 'startup_wait_s', first_delay_ms: 20, max_delay_ms: 60 });
    expect(value).toBe('up');
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    expect(gaps[0]).toBeGreaterThanOrEqual(18);
    expect(gaps[1]).toBeGreaterThanOrEqual(38);
    expect(gaps[2]).toBeGreaterThanOrEqual(58); // capped at 60, not 80
    expect(gaps[2]).toBeLessThan(78);
  });

  it('gives up at the limit, naming the setting, and does not wait on a refusal', async () => {
    await expect(waitForService('Kafka', async () => Promise.reject(down()), { logger, limit_s: 0, setting: 'gateway.yaml: startup_wait_s' }))
      .rejects.toThrow('Kafka at k:9092 is not reachable: ECONNREFUSED; gave up after 0 s (gateway.yaml: startup_wait_s: 0)');
    let attempts = 0;
    const refused = new WacoflowError(ERR.CONFIG, 'database_url: password authentication failed');
    await expect(waitForService('PostgreSQL', async () => {
      attempts++;
      throw refused;
    }, { logger, limit_s: 60, setting: 'startup_wait_s' })).rejects.toBe(refused);
    expect(attempts).toBe(1);
  });
});
