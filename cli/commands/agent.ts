/**
 * `wacoflow agent --config FILE` runs an edge agent as its own process, and `wacoflow agent check --config FILE`
 * validates the file and reads every input once: the field technician's first command after wiring a detector.
 */
import { Command } from 'commander';
import { ERR, WacoflowError } from '../../platform/errors.ts';
import type { LogLevel } from '../../platform/logger.ts';
import { fail } from '../run.ts';

export function agentCommand(): Command {
  const agent = new Command('agent')
    .summary('run an edge agent from a YAML config file')
    .description(
      'Runs an edge agent: polls the configured inputs, bins samples into epoch-aligned bins, keeps them in the ' +
        'on-disk outbox under data_dir until the gateway confirms them, and sends heartbeats. See ' +
        'edge-agent/sample.yaml for every setting. Stops cleanly on SIGTERM or Ctrl-C.',
    )
    .enablePositionalOptions()
    .option('-c, --config <file>', 'agent configuration (YAML); required')
    .option('--log-level <level>', 'error, warn, info or debug', 'info')
    .action(async (o: { config?: string; logLevel: LogLevel }) => {
      try {
        if (!o.config) throw new WacoflowError(ERR.CONFIG, '--config: give the agent configuration file, for example --config /etc/wacoflow/agent.yaml');
        const { run } = await import('./agent-run.ts');
        await run(o.config, o.logLevel);
      } catch (err) {
        fail(err);
      }
    });
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
