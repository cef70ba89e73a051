/** `wacoflow`: one CLI, one subcommand per way of running WacoFlow. */
import { Command } from 'commander';
import { simCommand } from './commands/sim.ts';
import { tmddCommand } from './commands/tmdd.ts';
import { fail, VERSION } from './run.ts';

const program = new Command('wacoflow')
  .description('WacoFlow: real-time traffic detector platform (edge agents, MQTT→Kafka gateway, central stream processor).')
  .version(VERSION, '-v, --version')
  .showHelpAfterError('(run with --help for the options)')
  .addCommand(simCommand())
  .addCommand(tmddCommand());

program.parseAsync(process.argv).catch((err: unknown) => fail(err));
