/** The agent's configuration schema: types, defaults and messages in one place. */
import { z } from 'zod';
import { nests } from '../protocol/index.ts';
import { InputConfigSchema } from './inputs/registry.ts';

/** The fields every agent has, however it is run. */
const AgentFields = z.object({
    device_id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, 'letters, digits and . _ : - only').max(64),
    site: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits and . _ - only').max(64),
    mqtt_url: z.string().regex(/^mqtts?:\/\/[^/]+$/, 'must look like mqtt://host:port or mqtts://host:port'),
    /** Bin width; must divide the 5-minute window so no bin straddles two windows. */
    bin_ms: z.number().int().min(20_000).max(300_000).refine((v) => nests(v), 'must divide 300000 (20 s, 30 s, 60 s, 100 s, 150 s, 300 s …)').default(60_000),
    /**
     * How long after a bin ends it waits for samples still on their way. It must exceed every input's poll
     * interval, or the last samples of each bin arrive after it was sealed and leave as late supplements.
     */
    close_delay_ms: z.number().int().min(0).max(900_000).default(30_000),
    heartbeat_interval_ms: z.number().int().min(1_000).max(3_600_000).default(30_000),
    max_bins_per_message: z.number().int().min(1).max(10_000).default(200),
    max_inflight_messages: z.number().int().min(1).max(100).default(4),
    ack_timeout_ms: z.number().int().min(100).max(600_000).default(30_000),
    reconnect_ms: z.number().int().min(100).max(600_000).default(2_000),
    /** MQTT keepalive (seconds): a link that went silent is noticed within about 1.5 × this. */
    keepalive_s: z.number().int().min(5).max(3_600).default(30),
    /** Bins that ended within this long are live and sent at once, ahead of any backlog. */
    live_window_ms: z.number().int().min(0).max(86_400_000).default(300_000),
    /** How fast a backlog drains after an outage, so live bins and the link keep room; null: no limit. */
    backlog_bins_per_s: z.number().min(1).max(1_000_000).nullable().default(2_000),
    input_timeout_ms: z.number().int().min(100).max(600_000).default(10_000),
    /** Consecutive failed reads that open an input's circuit breaker, and how long it stays open. */
    breaker_failure_threshold: z.number().int().min(1).max(1_000).default(5),
    breaker_open_ms: z.number().int().min(1_000).max(3_600_000).default(60_000),
    /** Samples stamped further in the past or future than this are dropped and counted (a sensor clock gone wrong). */
    max_sample_age_ms: z.number().int().min(60_000).max(30 * 86_400_000).default(6 * 3_600_000),
    max_sample_future_ms: z.number().int().min(0).max(86_400_000).default(300_000),
    inputs: z.array(InputConfigSchema).min(1, 'configure at least one input'),
  });

function closeDelayCoversPolls(c: { close_delay_ms: number; inputs: { name: string; poll_interval_ms: number }[] }, ctx: z.RefinementCtx): void {
  for (const [i, input] of c.inputs.entries()) {
    if (input.poll_interval_ms >= c.close_delay_ms) {
      ctx.addIssue({
        code: 'custom',
        path: ['close_delay_ms'],
        message: `must exceed the poll interval of input ${i} (${input.name}: ${input.poll_interval_ms} ms); raise close_delay_ms or poll more often`,
      });
    }
  }
}

/** An agent inside another process (simulator mode): its password is given directly. */
export const AgentConfigSchema = AgentFields.extend({ mqtt_password: z.string().min(1) }).strict().superRefine(closeDelayCoversPolls);
export type AgentConfig = z.infer<typeof AgentConfigSchema>;

export const OutboxConfigSchema = z
  .object({
    /** group: a bin is on disk before it is published (concurrent writes share an fsync); interval: fsync every fsync_interval_ms; never: the OS decides. */
    fsync: z.enum(['group', 'interval', 'never']).default('group'),
    fsync_interval_ms: z.number().int().min(10).max(60_000).default(1_000),
    segment_bytes: z.number().int().min(4_096).max(256 * 1024 * 1024).default(4 * 1024 * 1024),
    max_bytes: z.number().int().min(65_536).max(64 * 1024 * 1024 * 1024).default(64 * 1024 * 1024),
    max_age_ms: z.number().int().min(60_000).default(7 * 86_400_000),
  })
  .strict()
  .prefault({});

/** An agent as its own process on a board: `wacoflow agent --config FILE`. */
export const AgentFileConfigSchema = AgentFields.extend({
  /** The device secret, or the file holding it (mode 0600, one line). */
  mqtt_password: z.string().min(1).optional(),
  mqtt_password_file: z.string().min(1).optional(),
  /** TLS for an mqtts:// gateway: the CA that signed its certificate, and this device's own pair for mutual TLS. */
  mqtt_tls: z
    .object({ ca_file: z.string().min(1).optional(), cert_file: z.string().min(1).optional(), key_file: z.string().min(1).optional() })
    .strict()
    .refine((t) => !t.cert_file === !t.key_file, { message: 'give cert_file and key_file together', path: ['cert_file'] })
    .optional(),
  /** Where the outbox and the sequence file live (an SD card partition on a Pi). */
  data_dir: z.string().min(1).default('/var/lib/wacoflow'),
  outbox: OutboxConfigSchema,
  /** Signed updates (docs/edge-boards.md): off unless the release public key is given. */
  update: z
    .object({
      /** The release public key (PEM) this board trusts, written by `wacoflow flash --release-key`. */
      public_key_file: z.string().min(1).nullable().default(null),
      /** How long a new version has to get a heartbeat acknowledged before the launcher rolls it back. */
      health_timeout_ms: z.number().int().min(10_000).max(3_600_000).default(120_000),
      /** The longest one file of a release may take to download. */
      download_timeout_ms: z.number().int().min(1_000).max(3_600_000).default(600_000),
    })
    .strict()
    .prefault({}),
  /** Local Prometheus /metrics, off unless a port is given. */
  metrics_host: z.string().min(1).default('127.0.0.1'),
  metrics_port: z.number().int().min(0).max(65_535).nullable().default(null),
})
  .strict()
  .superRefine(closeDelayCoversPolls)
  .superRefine((c, ctx) => {
    if (!c.mqtt_password === !c.mqtt_password_file) {
      ctx.addIssue({ code: 'custom', path: ['mqtt_password'], message: 'give exactly one of mqtt_password and mqtt_password_file' });
    }
  });
export type AgentFileConfig = z.infer<typeof AgentFileConfigSchema>;
