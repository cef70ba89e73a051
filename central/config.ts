/** Central's configuration schema: the type, the defaults and the error messages in one place. */
import { z } from 'zod';
import { TOPIC_PREFIX } from '../protocol/index.ts';
import { isTimeZone } from '../platform/time-zones.ts';

export const TopicPartitions = z
  .object({
    bins: z.number().int().min(1).max(1024).default(6),
    health: z.number().int().min(1).max(1024).default(3),
    dlq: z.number().int().min(1).max(1024).default(1),
    windows: z.number().int().min(1).max(1024).default(6),
    alerts: z.number().int().min(1).max(1024).default(3),
    admin: z.number().int().min(1).max(1024).default(1),
  })
  .prefault({});

export const CentralConfigSchema = z
  .object({
    /** Consumer group shared by every central instance. */
    group_id: z.string().min(1).default('wacoflow-central'),
    /** How long after a window ends (by the wall clock) it stays provisional, waiting for late bins. */
    grace_ms: z.number().int().min(0).max(86_400_000).default(60_000),
    /**
     * How long after a window ends a late bin still revises it (default 7 days: an agent's outbox holds days of
     * bins through an outage). Later bins are stored in late_events and counted, not folded.
     */
    late_horizon_ms: z.number().int().min(0).max(90 * 86_400_000).default(7 * 86_400_000),
    /** Local time zone of the network: the anomaly baselines and forecasts work in time of week. */
    time_zone: z.string().refine(isTimeZone, 'must be an IANA time zone, for example America/Chicago').default('America/Chicago'),
    /** Days of stored windows replayed into the models when an instance takes over the analytics. */
    analytics_history_days: z.number().int().min(0).max(366).default(28),
    /** Windows are kept this long (day partitions dropped whole): 400 days allow year-on-year comparison. */
    window_retention_days: z.number().int().min(1).max(3_650).default(400),
    /**
     * The periodic finalisation pass: renews the analytics lease and catches what a missed timer left. Windows are
     * also finalised by a pass scheduled at each slot's end + grace.
     */
    finalize_interval_ms: z.number().int().min(100).max(600_000).default(5_000),
    partitions: TopicPartitions,
    /** Kafka topics under this prefix ("staging" → staging.wacoflow.bins.v1), as the gateway writes them. */
    topic_prefix: z.string().regex(TOPIC_PREFIX, 'letters, digits, dots, dashes and underscores').nullable().default(null),
    http_host: z.string().min(1).default('127.0.0.1'),
    http_port: z.number().int().min(0).max(65_535).default(8080),
    /**
     * Bearer token for operator actions (acknowledging alerts). Null: those actions are refused; read-only views
     * need none. At least 24 characters, so it cannot be guessed.
     */
    operator_token: z.string().min(24, 'use at least 24 characters (openssl rand -hex 16)').nullable().default(null),
  })
  .strict();
export type CentralConfig = z.infer<typeof CentralConfigSchema>;
