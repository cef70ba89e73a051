import { z } from 'zod';
import { Count, EpochMs, Id } from './common.ts';

/**
 * An alert opens and closes as events. Traffic anomalies, detector-health states and device (board) problems
 * are kept apart by `kind` (ARCHITECTURE.md "Congestion, anomalies, forecasts").
 */
export const AlertSchema = z.object({
  v: z.literal(1),
  alert_id: z.string().min(1).max(128),
  kind: z.enum(['traffic', 'detector_health', 'device']),
  rule: z.string().min(1).max(64),
  key: Id,
  state: z.enum(['open', 'closed']),
  severity: z.enum(['info', 'warning', 'critical']),
  opened_ms: EpochMs,
  closed_ms: EpochMs.nullable(),
  window_start_ms: EpochMs.nullable(),
  window_revision: Count.nullable(),
  detail: z.string().max(2000),
});
export type Alert = z.infer<typeof AlertSchema>;
