/**
 * A bin's schema as plain checks, for the two places every bin passes through (the gateway and central).
 * The zod schemas in bin.ts stay the definition and the source of every error message: these functions only
 * say yes, returning the value zod would return (the schema's fields in its order, unknown keys left out, as zod
 * strips them), or `undefined`,
 * after which the caller asks zod, which says what is wrong. They must never accept what zod refuses;
 * `bin-check.test.ts` holds them to that on every fixture and on thousands of mutated bins.
 *
 * Why: zod's general machinery cost central about 4 µs of a bin's 45 (bench:central, profile stage).
 */
import { WINDOW_MS } from '../time.ts';
import type { Bin, BinBatch } from './bin.ts';

const ID = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;
const MAX_EPOCH_MS = 8_640_000_000_000;
const MAX_DURATION_MS = 86_400_000;
const MAX_BATCH_BINS = 10_000;

const isId = (v: unknown): v is string => typeof v === 'string' && v.length >= 1 && v.length <= 64 && ID.test(v);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const isCount = (v: unknown): v is number => isInt(v) && v >= 0;
const isEpoch = (v: unknown): v is number => isInt(v) && v >= 0 && v <= MAX_EPOCH_MS;
const isNonNegative = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function checkMeasures(m: unknown): Bin['measures'] | undefined {
  if (!isObject(m)) return undefined;
  const { volume, occupied_ms, occupancy_observed_ms, speed_weight, speed_sum, speed_inverse_sum, speed_min_kmh, speed_max_kmh, samples_seen, samples_expected } = m;
  // Optional: a key holding undefined (possible only in a value not parsed from JSON) counts as absent, as in zod.
  const queue = m.queue_max_veh;
  const hasQueue = queue !== undefined;
  if (
    !(volume === null || isCount(volume)) || !isNonNegative(occupied_ms) || !isNonNegative(occupancy_observed_ms) ||
    !isCount(speed_weight) || !isNonNegative(speed_sum) || !isNonNegative(speed_inverse_sum) ||
    !(speed_min_kmh === null || isNonNegative(speed_min_kmh)) || !(speed_max_kmh === null || isNonNegative(speed_max_kmh)) ||
    !isCount(samples_seen) || !isCount(samples_expected) ||
    (hasQueue && !(queue === null || isCount(queue)))
  ) return undefined;
  const out: Bin['measures'] = { volume, occupied_ms, occupancy_observed_ms, speed_weight, speed_sum, speed_inverse_sum, speed_min_kmh, speed_max_kmh, samples_seen, samples_expected };
  if (hasQueue) out.queue_max_veh = queue as number | null;
  return out;
}

/** The bin zod's BinSchema would return for `v`, or undefined when only zod can say. */
export function checkBin(v: unknown): Bin | undefined {
  if (!isObject(v)) return undefined;
  const { device_id, seq, detector_id, station_id, bin_start_ms, bin_ms, clock } = v;
  if (!isId(device_id) || !isCount(seq) || !isId(detector_id) || !isId(station_id) || !isEpoch(bin_start_ms)) return undefined;
  if (!isInt(bin_ms) || bin_ms <= 0 || bin_ms > MAX_DURATION_MS || WINDOW_MS % bin_ms !== 0 || bin_start_ms % bin_ms !== 0) return undefined;
  if (!isObject(clock) || typeof clock.synced !== 'boolean' || !isInt(clock.offset_ms)) return undefined;
  const measures = checkMeasures(v.measures);
  if (measures === undefined) return undefined;
  return { device_id, seq, detector_id, station_id, bin_start_ms, bin_ms, clock: { synced: clock.synced, offset_ms: clock.offset_ms }, measures };
}

/** The batch zod's BinBatchSchema would return for `v`, or undefined when only zod can say. */
export function checkBinBatch(v: unknown): BinBatch | undefined {
  if (!isObject(v)) return undefined;
  const { v: version, device_id, sent_ms, bins, dropped } = v;
  if (version !== 1 || !isId(device_id) || !isEpoch(sent_ms) || !Array.isArray(bins) || bins.length < 1 || bins.length > MAX_BATCH_BINS) return undefined;
  const hasDropped = dropped !== undefined;
  if (hasDropped) {
    if (!isObject(dropped)) return undefined;
    for (const k in dropped) if (k === '__proto__' || !isCount(dropped[k])) return undefined;
  }
  const out: Bin[] = new Array(bins.length);
  for (let i = 0; i < bins.length; i++) {
    const bin = checkBin(bins[i]);
    if (bin === undefined || bin.device_id !== device_id) return undefined;
    out[i] = bin;
  }
  const batch: BinBatch = { v: 1, device_id, sent_ms, bins: out };
  if (hasDropped) batch.dropped = { ...(dropped as Record<string, number>) };
  return batch;
}
