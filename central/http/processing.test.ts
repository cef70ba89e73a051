/** The processing page's history: rates and batch times between points, an hour kept. */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { centralMetrics } from '../metrics.ts';
import { ProcessingHistory } from './processing.ts';

describe('processing history', () => {
  it('turns counters into rates and mean batch times between points, and keeps an hour', async () => {
    const registry = new Registry();
    const m = centralMetrics(registry);
    const history = new ProcessingHistory(registry);
    const T = 1_800_000_000_000;
    await history.sample(T);
    m.bins.inc({ result: 'stored' }, 900);
    m.bins.inc({ result: 'duplicate' }, 100);
    m.batchSeconds.observe(0.02);
    m.batchSeconds.observe(0.04);
    m.lag.set({ topic: 'wacoflow.bins.v1', partition: '0' }, 7);
    m.lag.set({ topic: 'wacoflow.windows.v1', partition: '0' }, 1_000); // not the bins topic: not lag of bins
    await history.sample(T + 10_000);
    await history.sample(T + 20_000);
    const view = await history.view(T + 20_000);
    expect(view.history).toEqual([
      { t_ms: T, bins_per_s: null, lag_records: 0, batch_ms: null },
      { t_ms: T + 10_000, bins_per_s: 100, lag_records: 7, batch_ms: expect.closeTo(30, 6) },
      { t_ms: T + 20_000, bins_per_s: 0, lag_records: 7, batch_ms: null },
    ]);
    expect(view.bins).toMatchObject({ stored: 900, duplicate: 100 });

    // An hour later only the last hour's points remain.
    await history.sample(T + 3_600_000 + 15_000);
    expect((await history.view(T)).history.map((p) => p.t_ms)).toEqual([T + 20_000, T + 3_615_000]);
  });
});
