/**
 * `wacoflow agent --config FILE` runs an edge agent as its own process, and `wacoflow agent check --config FILE`
 * validates the file and reads every input once: the field technician's first command after wiring a detector.
 */
import type { Command } from 'commander';
import { configCommand, fail } from '../run.ts';

export function agentCommand(): Command {
  const agent = configCommand(
    'agent',
    {
      summary: 'run an edge agent from a YAML config file',
      description:
        'Runs an edge agent: polls the configured inputs, bins samples into epoch-aligned bins, keeps them in the ' +
        'on-disk outbox under data_dir until the gateway confirms them, and sends heartbeats. See ' +
        'edge-agent/sample.yaml for every setting. Stops cleanly on SIGTERM or Ctrl-C.',
    },
    async () => (await import('./agent-run.ts')).run,
  ).enablePositionalOptions();
  agent
    .command('check')
    .summary('validate the config and read every input once, printing what each detector returned')
    .requiredOption('-c, --config <file>', 'agent configuration (YAML)')
    .action(async (o: { config: string }) => {
      try {
        const { check } = await import('./agent-run.ts');
        process.exit((await check(o.config)) > 0 ? 1 : 0);
      } catch (err) {
        fail(err);
      }
    });
  return agent;
}
