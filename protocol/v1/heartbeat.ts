import { z } from 'zod';
import { ClockState, Count, EpochMs, Id } from './common.ts';
import { ConfigReportSchema, UpdateReportSchema } from './fleet-control.ts';

export const BreakerState = z.enum(['closed', 'open', 'half_open']);
export const InputState = z.enum(['starting', 'ok', 'degraded', 'failed', 'stopped']);

/** Agent health, published every 30 s by default (ARCHITECTURE.md "Fleet"). */
export const HeartbeatSchema = z.object({
  v: z.literal(1),
  device_id: Id,
  ts_ms: EpochMs,
  uptime_s: z.number().min(0),
  version: z.string().min(1).max(64),
  config_hash: z.string().min(1).max(128),
  cpu_pct: z.number().min(0).max(100 * 256).nullable(),
  mem_rss_bytes: Count,
  temperature_c: z.number().min(-60).max(150).nullable(),
  disk_free_bytes: Count.nullable(),
  outbox: z.object({
    depth: Count,
    bytes: Count,
    oldest_age_ms: Count.nullable(),
    /** Why the outbox refuses bins right now (disk full, I/O error), or null. */
    last_error: z.string().max(1000).nullable().optional(),
  }),
  inputs: z.array(
    z.object({
      name: Id,
      driver: z.string().min(1).max(64),
      state: InputState,
      breaker: BreakerState,
      last_error: z.string().max(1000).nullable(),
      samples_total: Count,
      dropped_total: Count,
      /**
       * Circuit-breaker transitions since the agent started, by the state entered: `open` (threshold reached or
       * a trial failed), `half_open` (a trial read after the open period), `closed` (a trial succeeded). Absent
       * from agents that predate it.
       */
      breaker_transitions: z.object({ open: Count, half_open: Count, closed: Count }).optional(),
    }),
  ),
  clock: ClockState,
  dead_letters_total: Count,
  /** Remote configuration: the applied hash and any refusal (absent from agents that predate it). */
  config: ConfigReportSchema.optional(),
  /** Software updates: the latest offer's state (absent from agents that predate it). */
  update: UpdateReportSchema.optional(),
});
export type Heartbeat = z.infer<typeof HeartbeatSchema>;

/**
 * The retained online/offline status. The agent publishes `online` when it connects and registers `offline` as
 * its MQTT last will, so the broker publishes it when the agent vanishes.
 */
export const StatusSchema = z.object({
  v: z.literal(1),
  device_id: Id,
  state: z.enum(['online', 'offline']),
  ts_ms: EpochMs,
});
export type Status = z.infer<typeof StatusSchema>;

/**
 * An operator's decision about a device, on `wacoflow.admin.v1` (compacted, keyed by device id): every gateway
 * applies the latest one per device on top of its registry, so a disabled device is refused everywhere.
 */
export const DeviceCommandSchema = z.object({
  v: z.literal(1),
  device_id: Id,
  action: z.enum(['disable', 'enable']),
  by: z.string().min(1).max(64),
  ts_ms: EpochMs,
});
export type DeviceCommand = z.infer<typeof DeviceCommandSchema>;
