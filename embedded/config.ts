/** Configuration of the whole system in one process (simulator mode). */
import { z } from 'zod';
import { wacoNetwork } from '../simulators/waco/network.ts';
import { TOPIC_PREFIX } from '../protocol/index.ts';

export const EmbeddedConfigSchema = z
  .object({
    /** Simulated time runs this many times faster than the wall clock. */
    speedup: z.number().min(1).max(1_000).default(1),
    http_host: z.string().min(1).default('127.0.0.1'),
    http_port: z.number().int().min(0).max(65_535).default(8080),
    /** The embedded MQTT broker; 0 picks a free port. */
    mqtt_port: z.number().int().min(0).max(65_535).default(0),
    /** The simulated TMDD feeds; 0 picks a free port. */
    feed_port: z.number().int().min(0).max(65_535).default(0),
    /** Comma-separated Kafka bootstrap brokers; empty uses the in-process log. */
    kafka_brokers: z.array(z.string().regex(/^[^:\s]+:\d+$/, 'must be host:port')).default([]),
    /** postgres://… ; empty uses PGlite. */
    database_url: z.string().regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://').nullable().default(null),
    /** Where PGlite and the agents keep their files; null keeps everything in memory for this run. */
    data_dir: z.string().min(1).nullable().default(null),
    /**
     * When simulated time begins, as an ISO 8601 time with its offset (2026-12-05T17:00-06:00), within a day of
     * now (so a real Kafka broker's retention keeps what is sent); null: now.
     */
    start: z
      .string()
      .refine((v) => !Number.isNaN(Date.parse(v)) && /(Z|[+-]\d\d:?\d\d)$/i.test(v), 'must be an ISO 8601 time with its offset, e.g. 2026-12-05T17:00-06:00')
      .refine((v) => Math.abs(Date.parse(v) - Date.now()) <= 86_400_000, 'must be within a day of now')
      .nullable()
      .default(null),
    /** Window grace period, in simulated milliseconds. */
    grace_ms: z.number().int().min(0).max(3_600_000).default(60_000),
    /** Seed of the traffic model: the same seed gives the same traffic. */
    seed: z.string().min(1).default('waco'),
    /** The whole Waco network on every driver, or its nine-station core on two TMDD feeds (light runs, tests). */
    network: z.enum(['city', 'core']).default('city'),
    /**
     * Road stations to simulate, for sizing runs: the city's, then copies of its TMDD-fed roads on feeds and
     * agents of their own (simulators/waco/scale.ts); null: the city as it is.
     */
    stations: z.number().int().min(1).max(20_000).nullable().default(null),
    /** Weather spells: rain@START+MINUTES or heavy-rain@START+MINUTES, in simulated minutes from the start. */
    weather: z.array(z.string().regex(/^(rain|heavy-rain)@\d+(\.\d+)?\+\d+(\.\d+)?$/, 'must be rain@START+MINUTES or heavy-rain@START+MINUTES, e.g. rain@30+60')).default([]),
    /** A home game at McLane Stadium kicking off this many simulated minutes after the start; null: no game. */
    game_kickoff_min: z.number().min(0).max(10_080).nullable().default(null),
    /** Faults injected into simulated devices: TARGET:KIND[@START[+MINUTES]] (simulators/faults.ts). */
    faults: z.array(z.string().min(1)).default([]),
    /**
     * Where the simulated devices' numbers come from: the built-in traffic model, or Eclipse SUMO moving
     * vehicles over the same network (simulators/sumo/). SUMO models neither weather nor game days.
     */
    engine: z.enum(['model', 'sumo']).default('model'),
    /**
     * Days of past traffic written as final station windows before the start (simulators/history.ts), so
     * forecasts, their intervals and the anomaly baseline begin with a profile; 0: central starts knowing
     * nothing. Model engine only.
     */
    history_days: z.number().int().min(0).max(28).default(0),
    /** Scheduled incidents that push stations into congestion. */
    incidents: z.enum(['on', 'off']).default('on'),
    /** Kafka topics under this prefix ("staging" → staging.wacoflow.bins.v1); null: the protocol's names. */
    topic_prefix: z.string().regex(TOPIC_PREFIX, 'letters, digits, dots, dashes and underscores').nullable().default(null),
    /** Kafka topic partitions for the bins topic (and windows). */
    bin_partitions: z.number().int().min(1).max(256).default(6),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.stations !== null) {
      const city = wacoNetwork().stations.length;
      if (c.network !== 'city') ctx.addIssue({ code: 'custom', path: ['stations'], message: 'grows the whole city: leave out --network core' });
      if (c.stations < city) ctx.addIssue({ code: 'custom', path: ['stations'], message: `must be at least the city's ${city} road stations` });
    }
    if (c.engine !== 'sumo') return;
    if (c.history_days > 0) ctx.addIssue({ code: 'custom', path: ['history_days'], message: 'the SUMO engine has no past to write: leave it out, or use --engine model' });
    if (c.stations !== null) ctx.addIssue({ code: 'custom', path: ['stations'], message: "SUMO's network is the city as it is: leave --stations out, or use --engine model" });
    if (c.weather.length > 0) ctx.addIssue({ code: 'custom', path: ['weather'], message: 'the SUMO engine does not model weather: leave it out, or use --engine model' });
    if (c.game_kickoff_min !== null) ctx.addIssue({ code: 'custom', path: ['game_kickoff_min'], message: 'the SUMO engine does not model game days: leave it out, or use --engine model' });
  });
export type EmbeddedConfig = z.infer<typeof EmbeddedConfigSchema>;
