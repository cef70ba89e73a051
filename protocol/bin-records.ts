/**
 * The records of the bins topic. A record holds one station's bins from one agent message, as a bin batch
 * (header `type: bin_batch`), keyed by the station: the agent's message split by station, at most
 * MAX_BINS_PER_RECORD bins each. Central also reads the earlier form, one bin per record (`type: bin`), so a
 * log written by an older gateway is still read whole.
 *
 * Why batches: a Kafka record costs its producer, the broker and its consumer the same whatever it holds, and
 * at one bin per record that was most of what a bin cost the Kafka client on both sides (bench:central,
 * profile stage). Keyed by station, as before, a station's bins still land on one partition in order.
 */
import { encode, tryDecode, type DecodeResult } from './decode.ts';
import type { ProtocolError } from './errors.ts';
import { binKey } from './topics.ts';
import type { Bin, BinBatch } from './v1/bin.ts';

export const BIN_RECORD = 'bin';
export const BIN_BATCH_RECORD = 'bin_batch';

/** About 200 KB of JSON: well under Kafka's default 1 MB record limit, whatever the agent sent in one message. */
export const MAX_BINS_PER_RECORD = 500;

export interface BinRecord {
  key: string;
  value: Buffer;
  headers: { type: string };
}

/**
 * The records for one agent message. When the whole message is one station's bins and small enough, its own
 * bytes are the record (`payload`, already decoded as `batch`): nothing is encoded again.
 */
export function binRecords(batch: BinBatch, payload?: Buffer): BinRecord[] {
  const byStation = new Map<string, Bin[]>();
  for (const bin of batch.bins) {
    const key = binKey(bin);
    const list = byStation.get(key);
    if (list) list.push(bin);
    else byStation.set(key, [bin]);
  }
  if (payload && byStation.size === 1 && batch.bins.length <= MAX_BINS_PER_RECORD) {
    return [{ key: binKey(batch.bins[0]!), value: payload, headers: { type: BIN_BATCH_RECORD } }];
  }
  const records: BinRecord[] = [];
  for (const [key, bins] of byStation) {
    for (let i = 0; i < bins.length; i += MAX_BINS_PER_RECORD) {
      const part: BinBatch = { v: 1, device_id: batch.device_id, sent_ms: batch.sent_ms, bins: bins.slice(i, i + MAX_BINS_PER_RECORD) };
      records.push({ key, value: encode(part), headers: { type: BIN_BATCH_RECORD } });
    }
  }
  return records;
}

/** The bins a record of the bins topic holds, by its type header (none: one bin, the earlier form). */
export function binsOfRecord(record: { value: Buffer; headers?: Record<string, string | undefined> }): { ok: true; bins: Bin[] } | { ok: false; error: ProtocolError } {
  if (record.headers?.type === BIN_BATCH_RECORD) {
    const d: DecodeResult<'bin_batch'> = tryDecode('bin_batch', record.value);
    return d.ok ? { ok: true, bins: d.value.bins } : d;
  }
  const d = tryDecode('bin', record.value);
  return d.ok ? { ok: true, bins: [d.value] } : d;
}

/** The bins a record holds, or the ProtocolError that says what is wrong with it. */
export function binsIn(record: { value: Buffer; headers?: Record<string, string | undefined> }): Bin[] {
  const d = binsOfRecord(record);
  if (!d.ok) throw d.error;
  return d.bins;
}
