/** The agent's configuration schema: types, defaults and messages in one place. */
import { z } from 'zod';
import { nests } from '../protocol/index.ts';
import { InputConfigSchema } from './inputs/registry.ts';

export const AgentConfigSchema = z
  .object({
    device_id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, 'letters, digits and . _ : - only').max(64),
    site: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits and . _ - only').max(64),
    mqtt_url: z.string().regex(/^mqtts?:\/\/[^/]+$/, 'must look like mqtt://host:port or mqtts://host:port'),
    mqtt_password: z.string().min(1),
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
    input_timeout_ms: z.number().int().min(100).max(600_000).default(10_000),
    inputs: z.array(InputConfigSchema).min(1, 'configure at least one input'),
  })
  .strict()
  .superRefine((c, ctx) => {
    for (const [i, input] of c.inputs.entries()) {
      if (input.poll_interval_ms >= c.close_delay_ms) {
        ctx.addIssue({
          code: 'custom',
          path: ['close_delay_ms'],
          message: `must exceed the poll interval of input ${i} (${input.name}: ${input.poll_interval_ms} ms); raise close_delay_ms or poll more often`,
        });
      }
    }
  });
export type AgentConfig = z.infer<typeof AgentConfigSchema>;
