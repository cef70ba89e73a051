/** `wacoflow`: one CLI, one subcommand per way of running WacoFlow. */
import { Command } from 'commander';
import { agentCommand } from './commands/agent.ts';
import { buildAgentCommand } from './commands/build-agent.ts';
import { configCommand } from './commands/config.ts';
import { demoCommand } from './commands/demo.ts';
import { devicesCommand } from './commands/devices.ts';
import { flashCommand } from './commands/flash.ts';
import { centralCommand } from './commands/central.ts';
import { gatewayCommand } from './commands/gateway.ts';
import { loadtestCommand } from './commands/loadtest.ts';
import { releaseCommand } from './commands/release.ts';
import { replayCommand } from './commands/replay.ts';
import { simCommand } from './commands/sim.ts';
import { tmddCommand } from './commands/tmdd.ts';
import { fail, VERSION } from './run.ts';

const program = new Command('wacoflow')
  .description('WacoFlow: real-time traffic detector platform (edge agents, MQTT→Kafka gateway, central stream processor).')
  .version(VERSION, '-v, --version')
  .showHelpAfterError('(run with --help for the options)')
  .enablePositionalOptions() // `agent --config` and `agent check --config` each own their --config
  .addCommand(simCommand())
  .addCommand(demoCommand())
  .addCommand(loadtestCommand())
  .addCommand(agentCommand())
  .addCommand(gatewayCommand())
  .addCommand(centralCommand())
  .addCommand(replayCommand())
  .addCommand(devicesCommand())
  .addCommand(buildAgentCommand())
  .addCommand(flashCommand())
  .addCommand(configCommand())
  .addCommand(releaseCommand())
  .addCommand(tmddCommand());

program.parseAsync(process.argv).catch((err: unknown) => fail(err));
