/**
 * `wacoflow loadtest`: many simulated agents against a running gateway and central, with throughput, latency
 * from publish to window, loss, and CPU and memory at the end (loadtest/loadtest.ts).
 */
import { writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { z } from 'zod';
import { int, list, num, validate, type Setting } from '../options.ts';
import { failing } from '../run.ts';

const SETTINGS: Setting[] = [
  { key: 'agents', flag: '--agents' },
  { key: 'rate', flag: '--rate' },
  { key: 'duration_s', flag: '--duration' },
  { key: 'detectors_per_agent', flag: '--detectors-per-agent' },
  { key: 'kafka_brokers', flag: '--kafka-brokers', env: 'WACOFLOW_KAFKA_BROKERS' },
  { key: 'database_url', flag: '--database-url', env: 'WACOFLOW_DATABASE_URL' },
  { key: 'topology', flag: '--topology' },
  { key: 'cpu_prof_dir', flag: '--cpu-prof' },
];

const Schema = z
  .object({
    agents: z.number().int().min(1).max(10_000),
    rate: z.number().min(1).max(1_000_000),
    duration_s: z.number().min(1).max(86_400),
    detectors_per_agent: z.number().int().min(1).max(1_000),
    kafka_brokers: z.array(z.string().regex(/^[^:\s]+:\d+$/, 'must be host:port')),
    database_url: z.string().regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://').nullable(),
    topology: z.enum(['one-process', 'processes']),
    cpu_prof_dir: z.string().min(1).nullable(),
  })
  .strict()
  .refine((s) => s.topology === 'one-process' || (s.kafka_brokers.length > 0 && s.database_url !== null), {
    path: ['topology'],
    message: 'processes needs Kafka and PostgreSQL: give --kafka-brokers and --database-url, or use --topology one-process',
  })
  .refine((s) => s.cpu_prof_dir === null || s.topology === 'processes', {
    path: ['cpu_prof_dir'],
    message: 'profiles are written by the gateway and central processes: use it with --topology processes (Kafka and PostgreSQL)',
  });

export function loadtestCommand(): Command {
  return new Command('loadtest')
    .summary('many simulated agents against WacoFlow: throughput, latency to the window, loss, CPU and memory')
    .description(
      'Starts WacoFlow (embedded: the in-process log and PGlite; or Kafka and PostgreSQL when given) and connects --agents ' +
        'simulated agents, each with its own MQTT connection and credentials, which publish --rate bins per second in all ' +
        'for --duration seconds. At the end it prints throughput, latency percentiles from a bin’s publish to central’s ' +
        'window counting it (read from the API’s event stream), loss (every acknowledged bin checked against the windows), ' +
        'and CPU and resident memory per component.',
    )
    .option('--agents <n>', 'simulated agents, each a real MQTT connection', '100')
    .option('--rate <bins_per_s>', 'bins per second, all agents together', '1000')
    .option('--duration <s>', 'seconds of sending', '60')
    .option('--detectors-per-agent <n>', 'detectors each agent reads (one bin per detector per simulated minute)', '50')
    .option('--kafka-brokers <list>', 'comma-separated host:port list: use Kafka instead of the in-process log')
    .option('--database-url <url>', 'postgres:// URL: use PostgreSQL instead of PGlite')
    .option(
      '--topology <how>',
      'one-process: the gateway, central and a small simulation in this process (as `wacoflow sim`); processes: the gateway and ' +
        'central each in its own process, as deployed (needs Kafka and PostgreSQL). Default: processes when Kafka and PostgreSQL are given',
    )
    .option('--cpu-prof <dir>', 'with --topology processes: the gateway and central each write a V8 CPU profile (.cpuprofile) into DIR as they stop')
    .option('--json <file>', 'also write the figures to this file as JSON')
    .action(
      failing(async (o: Record<string, string>) => {
        const kafka_brokers = list(o.kafkaBrokers ?? process.env.WACOFLOW_KAFKA_BROKERS ?? '');
        const database_url = (o.databaseUrl ?? process.env.WACOFLOW_DATABASE_URL) || null;
        const settings = validate(
          Schema,
          {
            agents: int(o.agents!),
            rate: num(o.rate!),
            duration_s: num(o.duration!),
            detectors_per_agent: int(o.detectorsPerAgent!),
            kafka_brokers,
            database_url,
            topology: o.topology ?? (kafka_brokers.length > 0 && database_url !== null ? 'processes' : 'one-process'),
            cpu_prof_dir: o.cpuProf ?? null,
          },
          SETTINGS,
        );
        const { runLoadtest, resultTable } = await import('../../loadtest/loadtest.ts');
        const tty = process.stdout.isTTY === true;
        let lastLine = 0;
        const result = await runLoadtest({
          ...settings,
          out: (line) => process.stdout.write(`${line}\n`),
          progress: (p) => {
            const share = Math.min(1, p.elapsed_s / p.duration_s);
            const n = (x: number) => Math.round(x).toLocaleString('en-US');
            const text =
              p.elapsed_s <= p.duration_s
                ? `${n(p.elapsed_s)}/${p.duration_s} s, ${n(p.acknowledged)} bins acknowledged, ${n(p.rate)} bins/s, p95 ${p.p95_ms ?? '–'} ms`
                : `sent; waiting for central: ${n(p.counted)} of ${n(p.acknowledged)} bins in windows, p95 ${p.p95_ms ?? '–'} ms`;
            if (tty) process.stdout.write(`\r[${'#'.repeat(Math.round(share * 30)).padEnd(30)}] ${text}  `);
            else if (p.elapsed_s - lastLine >= 10) {
              lastLine = p.elapsed_s;
              process.stdout.write(`${text}\n`);
            }
          },
        });
        if (tty) process.stdout.write('\n');
        process.stdout.write(`${resultTable(result)}\n`);
        if (o.json) writeFileSync(o.json, `${JSON.stringify(result, null, 2)}\n`);
        process.exit(result.lost === 0 ? 0 : 1);
      }),
    );
}
