/**
 * What central says of its own work during a load test, read from its /metrics at the first bin and after the
 * last: how many ingest transactions it ran, how long they took, how many bins each held, and how long its
 * event loop was held up. Central commits a group as soon as the last commits (consume/group-commit.ts), so a
 * cheaper transaction means more and smaller ones: the CPU per bin of a run can stay where it was while each
 * transaction, and so each bin's wait, gets shorter. These figures show that side.
 */
import { Metrics } from '../platform/prometheus-text.ts';

const TRANSACTIONS = 'wacoflow_central_ingest_transaction_seconds';
const LOOP = 'wacoflow_process_nodejs_eventloop_lag';

export interface CentralFigures {
  transactions: number;
  bins_per_transaction: number | null;
  /** The transactions' mean time, and the bucket bounds their p50 and p95 lie under (the histogram's). */
  transaction_ms: { mean: number; p50_at_most: number; p95_at_most: number } | null;
  /** CPU of WacoFlow's processes and of the Kafka broker and PostgreSQL (when measured here) per transaction. */
  cpu_ms_per_transaction: number | null;
  /** Central's event-loop delay over the run (the monitor restarts at each scrape: the first one reset it). */
  event_loop_delay_ms: { p99: number; max: number } | null;
}

/** A scrape of central's /metrics. */
export async function scrapeCentral(http_url: string): Promise<Metrics> {
  const res = await fetch(`${http_url}/metrics`);
  if (!res.ok) throw new Error(`central's ${http_url}/metrics answered ${res.status}`);
  return new Metrics(await res.text());
}

/** The bound of the first bucket whose cumulative count reaches `q` of all (Infinity past the last bound). */
function bucketBound(buckets: { le: number; count: number }[], q: number): number {
  const total = buckets.at(-1)?.count ?? 0;
  return buckets.find((b) => b.count >= q * total)?.le ?? Infinity;
}

/** Central's figures between two scrapes; `cpu_s` is the system's CPU (not the load agents') over the same span. */
export function centralFigures(before: Metrics, after: Metrics, cpu_s: number): CentralFigures {
  const delta = (name: string, match: Record<string, string> = {}) => (after.sum(name, match) ?? 0) - (before.sum(name, match) ?? 0);
  const transactions = delta(`${TRANSACTIONS}_count`);
  const stored = delta('wacoflow_central_bins_total', { result: 'stored' });
  const buckets = after
    .select(`${TRANSACTIONS}_bucket`)
    .map((b) => ({ le: Number(b.labels.le), count: b.value - (before.select(`${TRANSACTIONS}_bucket`, { le: b.labels.le! })[0]?.value ?? 0) }))
    .sort((a, b) => a.le - b.le);
  const p99 = after.sum(`${LOOP}_p99_seconds`);
  const max = after.sum(`${LOOP}_max_seconds`);
  return {
    transactions,
    bins_per_transaction: transactions > 0 ? stored / transactions : null,
    transaction_ms: transactions > 0
      ? { mean: (delta(`${TRANSACTIONS}_sum`) * 1000) / transactions, p50_at_most: bucketBound(buckets, 0.5) * 1000, p95_at_most: bucketBound(buckets, 0.95) * 1000 }
      : null,
    cpu_ms_per_transaction: transactions > 0 ? (cpu_s * 1000) / transactions : null,
    event_loop_delay_ms: p99 !== null && max !== null ? { p99: p99 * 1000, max: max * 1000 } : null,
  };
}
