/**
 * The edge agent's own entry point, for boards: `./wacoflow-agent.mjs --config FILE` (and `check`).
 * `npm run build:agent` bundles it into one file with every dependency but the serial port's native binding,
 * so a board runs plain Node with no TypeScript tooling in memory.
 */
import { agentCommand } from '../cli/commands/agent.ts';
import { tmddCommand } from '../cli/commands/tmdd.ts';
import { fail } from '../cli/run.ts';

// `wacoflow-agent --config FILE`, `wacoflow-agent check --config FILE`, and the technician's
// `wacoflow-agent tmdd parse FILE…` for a saved feed document.
agentCommand()
  .name('wacoflow-agent')
  .addCommand(tmddCommand())
  .parseAsync(process.argv)
  .catch((err: unknown) => fail(err));
