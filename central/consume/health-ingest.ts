/** Heartbeats and online/offline statuses → the devices table, with the partition offset, in one transaction. */
import { tryDecode, type DeadLetter, type Heartbeat, type Status } from '../../protocol/index.ts';
import type { LogBatch, LogConsumer } from '../../platform/log/log.ts';
import { commitToLog, deadLetter } from './bin-ingest.ts';
import type { ConsumeContext } from './partition-positions.ts';

export interface HealthDeps extends ConsumeContext {
  onDevicesChanged(): void;
}

export async function ingestHealth(batch: LogBatch, consumer: LogConsumer, deps: HealthDeps): Promise<void> {
  const todo = await deps.positions.unprocessed(batch, consumer);
  if (todo === null || todo.records.length === 0) return;
  const { records, reset } = todo;
  const now = deps.clock.now();
  const beats: Heartbeat[] = [];
  const statuses: Status[] = [];
  const dead: DeadLetter[] = [];
  for (const r of records) {
    const type = r.headers.type === 'status' ? 'status' : 'heartbeat';
    const d = type === 'status' ? tryDecode('status', r.value) : tryDecode('heartbeat', r.value);
    deps.metrics.healthMessages.inc({ type, result: d.ok ? 'ok' : 'invalid' });
    if (!d.ok) dead.push(deadLetter(r, d.error.message, d.error.field, now));
    else if (type === 'status') statuses.push(d.value as Status);
    else beats.push(d.value as Heartbeat);
  }
  const next = records[records.length - 1]!.offset + 1;
  await deps.store.transaction(async (tx) => {
    await deps.store.recordHeartbeats(tx, beats);
    await deps.store.recordStatuses(tx, statuses);
    await deps.store.addDeadLetters(tx, dead);
    await deps.store.saveOffset(tx, deps.group_id, batch.topic, batch.partition, next, now, reset);
  });
  deps.positions.advanced(batch, next);
  deps.onDevicesChanged();
  await commitToLog(consumer, batch, next, deps);
}
