/** Central's configuration file (`wacoflow central --config FILE`): where it reads, stores and listens. */
import { z } from 'zod';
import { CentralConfigSchema } from './config.ts';

const own = CentralConfigSchema.shape;

export const CentralFileConfigSchema = z
  .object({
    kafka_brokers: z.array(z.string().regex(/^[^:\s]+:\d+$/, 'must be host:port')).min(1, 'give at least one Kafka broker'),
    database_url: z.string().regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://'),
    /** At start-up, wait this long for PostgreSQL and Kafka to become reachable, retrying with backoff; 0: fail at once. */
    startup_wait_s: z.number().int().min(0).max(86_400).default(300),
    /** Stations and their detectors (YAML); relative paths are taken from this file's folder. */
    inventory_file: z.string().min(1),
    // The same settings and bounds as central itself, so a mistake is reported against this file.
    group_id: own.group_id,
    grace_ms: own.grace_ms,
    late_horizon_ms: own.late_horizon_ms,
    window_retention_days: own.window_retention_days,
    time_zone: own.time_zone,
    analytics_history_days: own.analytics_history_days,
    finalize_interval_ms: own.finalize_interval_ms,
    partitions: own.partitions,
    topic_prefix: own.topic_prefix,
    http_host: own.http_host,
    http_port: own.http_port,
    operator_token: own.operator_token,
  })
  .strict();
export type CentralFileConfig = z.infer<typeof CentralFileConfigSchema>;
