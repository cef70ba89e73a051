import { z } from 'zod';
import { EpochMs } from './common.ts';

/** A payload that could not be processed, kept with the reason on `wacoflow.dlq.v1` (never blocks the stream). */
export const DeadLetterSchema = z.object({
  v: z.literal(1),
  received_ms: EpochMs,
  stage: z.enum(['agent', 'gateway', 'central']),
  reason: z.string().min(1).max(2000),
  /** The field the reason is about, when there is one. */
  field: z.string().max(500).nullable(),
  source: z.object({
    transport: z.enum(['mqtt', 'http', 'serial', 'log']),
    address: z.string().max(500),
    client_id: z.string().max(128).nullable(),
  }),
  payload_base64: z.string(),
});
export type DeadLetter = z.infer<typeof DeadLetterSchema>;
