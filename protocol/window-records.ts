/**
 * The records of the windows topic. A record holds the results one commit wrote under one key, as a window
 * batch (header `type: window_batch`): a station's detector windows and its own window under the station's
 * id, a corridor's under the corridor's, at most MAX_WINDOWS_PER_RECORD each, in the order they were written.
 * Readers also take the earlier form, one result per record (`type: window`), so a log written before is
 * still read whole.
 *
 * Why batches, as on the bins topic: a Kafka record costs its producer the same whatever it holds, and at one
 * result per record the windows topic was the largest single cost of central in the load test (kafkajs
 * encoding about 25 µs per record, 1.2 records per bin: docs/benchmarks.md).
 */
import { frozenJson, tryDecode } from './decode.ts';
import type { ProtocolError } from './errors.ts';
import type { WindowResult } from './v1/window.ts';

export const WINDOW_RECORD = 'window';
export const WINDOW_BATCH_RECORD = 'window_batch';

/** About 400 KB of JSON: well under Kafka's default 1 MB record limit. */
export const MAX_WINDOWS_PER_RECORD = 500;

export interface WindowRecord {
  key: string;
  value: Buffer;
  headers: { type: string };
}

/**
 * The records for these results, one per key (`keyOf`) and up to MAX_WINDOWS_PER_RECORD results, in order of
 * each key's first result; within a key the results keep their order. The JSON of each result is the one
 * `frozenJson` made (the event stream writes the same text), joined, not encoded again.
 */
export function windowRecords(results: readonly WindowResult[], keyOf: (w: WindowResult) => string): WindowRecord[] {
  const byKey = new Map<string, string[]>();
  for (const w of results) {
    const key = keyOf(w);
    const list = byKey.get(key);
    if (list) list.push(frozenJson(w));
    else byKey.set(key, [frozenJson(w)]);
  }
  const records: WindowRecord[] = [];
  for (const [key, json] of byKey) {
    for (let i = 0; i < json.length; i += MAX_WINDOWS_PER_RECORD) {
      const value = Buffer.from(`{"v":1,"windows":[${json.slice(i, i + MAX_WINDOWS_PER_RECORD).join(',')}]}`, 'utf8');
      records.push({ key, value, headers: { type: WINDOW_BATCH_RECORD } });
    }
  }
  return records;
}

/** The results a record of the windows topic holds, by its type header (none or `window`: one result). */
export function windowsOfRecord(record: { value: Buffer; headers?: Record<string, string | undefined> }): { ok: true; windows: WindowResult[] } | { ok: false; error: ProtocolError } {
  if (record.headers?.type === WINDOW_BATCH_RECORD) {
    const d = tryDecode('window_batch', record.value);
    return d.ok ? { ok: true, windows: d.value.windows } : d;
  }
  const d = tryDecode('window', record.value);
  return d.ok ? { ok: true, windows: [d.value] } : d;
}
