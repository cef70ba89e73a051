/**
 * `wacoflow demo [scenario...]`: runs the demo scenarios on the simulated city, each on a system of its own,
 * narrating what happens and ending each with one PASS or FAIL line; exits 1 if any failed.
 */
import { Command } from 'commander';
import { ERR, WacoflowError } from '../../platform/errors.ts';
import { failing } from '../run.ts';

export function demoCommand(): Command {
  return new Command('demo')
    .summary('run the demo scenarios on the simulated city; each prints PASS or FAIL with its evidence')
    .description(
      'Runs each named scenario (all of them, in turn, when none is named) on a simulated Waco of its own, from a ' +
        'chosen time of day, and checks its expected outcome against the running system through its API and /metrics:\n' +
        '  normal        the whole city on every driver, no faults: every station final, every input ok, no warning\n' +
        '  feed-failure  a TMDD feed stops answering: its circuit breaker opens, half-opens and closes, as /metrics shows\n' +
        '  game-day      a home game at McLane Stadium: the gates queue before kickoff and the queue spills back\n' +
        '  topology      agents, the gateway, the bins topic’s partitions, central’s consumer group and its lag\n' +
        '  metrics       a tour of /metrics: what each family says, and that its counters move\n' +
        'Exits 1 if any scenario fails.',
    )
    .argument('[scenario...]', 'normal, feed-failure, game-day, topology or metrics (default: all)')
    .option('--speedup <n>', 'simulated time runs n times faster than real time (1–1000)', '30')
    .option('--verbose', 'print every warning the system logs as it happens')
    .action(
      failing(async (names: string[], o: { speedup: string; verbose?: boolean }) => {
        const speedup = Number(o.speedup);
        if (!(Number.isFinite(speedup) && speedup >= 1 && speedup <= 1_000)) throw new WacoflowError(ERR.CONFIG, `--speedup: must be a number from 1 to 1000 (got "${o.speedup}")`);
        const { runDemo, scenarioNamed } = await import('../../demo/runner.ts');
        for (const name of names) scenarioNamed(name); // refuse a wrong name before starting anything
        const ok = await runDemo(names, { speedup, verbose: o.verbose === true, out: (line) => process.stdout.write(`${line}\n`) });
        process.exit(ok ? 0 : 1);
      }),
    );
}
