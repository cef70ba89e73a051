/** `wacoflow central --config FILE`: the stream processor as its own process, Kafka in, PostgreSQL out. */
import { Command } from 'commander';
import { ERR, WacoflowError } from '../../platform/errors.ts';
import type { LogLevel } from '../../platform/logger.ts';
import { fail } from '../run.ts';

export function centralCommand(): Command {
  return new Command('central')
    .summary('run central: bins from Kafka into exact 5-minute windows in PostgreSQL, with the HTTP API')
    .description(
      'Consumes the bins and health topics as one member of a consumer group (start more for more partitions), ' +
        'builds detector, station and corridor windows, and stores them with the offsets they cover in one ' +
        'PostgreSQL transaction. See central/sample.yaml for every setting. Stops cleanly on SIGTERM or Ctrl-C.',
    )
    .option('-c, --config <file>', 'central configuration (YAML); required')
    .option('--log-level <level>', 'error, warn, info or debug', 'info')
    .action(async (o: { config?: string; logLevel: LogLevel }) => {
      try {
        if (!o.config) throw new WacoflowError(ERR.CONFIG, '--config: give the central configuration file, for example --config /etc/wacoflow/central.yaml');
        const { runCentral } = await import('./central-run.ts');
        await runCentral(o.config, o.logLevel);
      } catch (err) {
        fail(err);
      }
    });
}
