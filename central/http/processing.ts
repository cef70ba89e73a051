/**
 * Pipeline figures for the processing page, from central's own metrics: now, and over the last hour, as a
 * streaming engine's own UI shows them. The history is sampled every `sample_ms` of wall-clock time (it is
 * about the machine, so it runs on real time even in simulator mode) and holds an hour.
 */
import type { Registry } from 'prom-client';
import type { ProcessingPoint, ProcessingView } from './api.ts';

interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}


const HOUR_MS = 3_600_000;

/**
 * Reads only the three metrics it needs: collecting the whole registry would run every gauge's collector (the
 * fleet and station gauges query the store) and share their cached answers with the next scrape.
 */
async function read(registry: Registry) {
  const values = async (name: string) => ((await registry.getSingleMetric(name)?.get())?.values ?? []) as MetricValue[];
  const binValues = await values('wacoflow_central_bins_total');
  const bins = Object.fromEntries(['stored', 'late', 'duplicate', 'invalid'].map((r) => [r, binValues.find((v) => v.labels.result === r)?.value ?? 0]));
  const partitions = (await values('wacoflow_central_consumer_lag_records')).map((v) => ({ topic: String(v.labels.topic), partition: Number(v.labels.partition), lag: v.value }));
  const batch = await values('wacoflow_central_batch_duration_seconds');
  const total = (suffix: string) => batch.filter((v) => v.metricName?.endsWith(suffix)).reduce((a, v) => a + v.value, 0);
  return {
    bins,
    consumed: binValues.reduce((a, v) => a + v.value, 0),
    partitions: partitions.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition),
    lag_records: partitions.filter((p) => p.topic.includes('bins')).reduce((a, p) => a + p.lag, 0),
    batch_sum_s: total('_sum'),
    batch_count: total('_count'),
  };
}

export class ProcessingHistory {
  private readonly registry: Registry;
  private readonly sample_ms: number;
  private readonly points: ProcessingPoint[] = [];
  private previous: { t_ms: number; consumed: number; batch_sum_s: number; batch_count: number } | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(registry: Registry, sample_ms = 10_000) {
    this.registry = registry;
    this.sample_ms = sample_ms;
  }

  start(): void {
    void this.sample();
    this.timer = setInterval(() => void this.sample(), this.sample_ms);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Takes one point now (also called by the timer). */
  async sample(now_ms = Date.now()): Promise<void> {
    const r = await read(this.registry);
    const p = this.previous;
    const seconds = p ? (now_ms - p.t_ms) / 1000 : 0;
    const batches = p ? r.batch_count - p.batch_count : 0;
    this.points.push({
      t_ms: now_ms,
      bins_per_s: p && seconds > 0 ? (r.consumed - p.consumed) / seconds : null,
      lag_records: r.lag_records,
      batch_ms: p && batches > 0 ? ((r.batch_sum_s - p.batch_sum_s) / batches) * 1000 : null,
    });
    this.previous = { t_ms: now_ms, consumed: r.consumed, batch_sum_s: r.batch_sum_s, batch_count: r.batch_count };
    while (this.points.length > 0 && this.points[0]!.t_ms < now_ms - HOUR_MS) this.points.shift();
  }

  /** The figures now, and the last hour's points, oldest first. */
  async view(now_ms: number): Promise<ProcessingView> {
    const r = await read(this.registry);
    return {
      generated_ms: now_ms,
      bins: r.bins,
      lag_records: r.lag_records,
      partitions: r.partitions,
      batch_mean_ms: r.batch_count > 0 ? (r.batch_sum_s / r.batch_count) * 1000 : null,
      history: [...this.points],
    };
  }
}
