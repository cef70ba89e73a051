import { z } from 'zod';
import { WINDOW_MS } from '../time.ts';
import { ClockState, Count, DurationMs, EpochMs, Id, MeasuresSchema } from './common.ts';

/**
 * One detector's aggregate over one epoch-aligned bin, as the agent seals it into its outbox.
 * `(device_id, seq)` identifies it from the outbox to PostgreSQL; `seq` never repeats for a device.
 */
export const BinSchema = z
  .object({
    device_id: Id,
    seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    detector_id: Id,
    station_id: Id,
    bin_start_ms: EpochMs,
    bin_ms: DurationMs,
    clock: ClockState,
    measures: MeasuresSchema,
  })
  .refine((b) => WINDOW_MS % b.bin_ms === 0, {
    message: 'must divide 300000 (a bin may not straddle two 5-minute windows)',
    path: ['bin_ms'],
  })
  .refine((b) => b.bin_start_ms % b.bin_ms === 0, {
    message: 'must be a multiple of bin_ms (bins are aligned to the UTC epoch)',
    path: ['bin_start_ms'],
  });
export type Bin = z.infer<typeof BinSchema>;

/** What an agent publishes on its `bins` topic: several bins per MQTT message. */
export const BinBatchSchema = z
  .object({
    v: z.literal(1),
    device_id: Id,
    sent_ms: EpochMs,
    bins: z.array(BinSchema).min(1).max(10_000),
    /** Sentinel and out-of-range values the agent dropped since its previous batch, by reason. */
    dropped: z.record(z.string(), Count).optional(),
  })
  .refine((b) => b.bins.every((bin) => bin.device_id === b.device_id), {
    message: 'every bin must carry the batch device_id',
    path: ['bins'],
  });
export type BinBatch = z.infer<typeof BinBatchSchema>;
