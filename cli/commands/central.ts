/** `wacoflow central --config FILE`: the stream processor as its own process, Kafka in, PostgreSQL out. */
import type { Command } from 'commander';
import { configCommand } from '../run.ts';

export function centralCommand(): Command {
  return configCommand(
    'central',
    {
      summary: 'run central: bins from Kafka into exact 5-minute windows in PostgreSQL, with the HTTP API',
      description:
        'Consumes the bins and health topics as one member of a consumer group (start more for more partitions), ' +
        'builds detector, station and corridor windows, and stores them with the offsets they cover in one ' +
        'PostgreSQL transaction. See central/sample.yaml for every setting. Stops cleanly on SIGTERM or Ctrl-C.',
    },
    async () => (await import('./central-run.ts')).runCentral,
  );
}
