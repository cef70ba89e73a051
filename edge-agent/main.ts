/**
 * The edge agent's own entry point, for boards: `node wacoflow-agent.mjs --config FILE` (and `check`).
 * `npm run build:agent` bundles it into one file with every dependency but the serial port's native binding,
 * so a board runs plain Node with no TypeScript tooling in memory.
 */
import { agentCommand } from '../cli/commands/agent.ts';
import { fail } from '../cli/run.ts';

agentCommand()
  .name('wacoflow-agent')
  .parseAsync(process.argv)
  .catch((err: unknown) => fail(err));
