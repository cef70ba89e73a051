/**
 * The fault harness: `npm run chaos -- [--scale small|full] [--scenario NAME]...`
 *
 * Runs agents, the gateway and central as separate OS processes against a Kafka broker of its own and the
 * PostgreSQL at WACOFLOW_DATABASE_URL, injects each scenario's faults, and prints one table. Exits 1 if any
 * row shows a lost bin, a bin counted twice, an inexact window or an outbox that did not drain.
 */
import { cpus } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Kafka } from './cluster.ts';
import { runScenario, SCALES, type Row } from './run.ts';
import { SCENARIOS, type ScaleName } from './scenarios.ts';

const USAGE = `usage: npm run chaos -- [--scale small|full] [--scenario NAME]... [--seed N] [--keep]

  --scale     small (the CI run, ${SCALES.small.agents * SCALES.small.stations_per_agent * SCALES.small.lanes * SCALES.small.minutes} bins per scenario) or full (${(SCALES.full.agents * SCALES.full.stations_per_agent * SCALES.full.lanes * SCALES.full.minutes).toLocaleString('en-US')})
  --scenario  one of: ${SCENARIOS.map((s) => s.name).join(', ')} (repeatable; default all)
  --seed      workload and fault timing seed (default 1)
  --keep      keep each scenario's schema and process logs for inspection

Needs WACOFLOW_DATABASE_URL (a PostgreSQL the harness may create schemas in); starts its own Kafka broker.`;

function fail(message: string): never {
  process.stderr.write(`chaos: ${message}\n\n${USAGE}\n`);
  process.exit(2);
}

const { values } = (() => {
  try {
    return parseArgs({ options: { scale: { type: 'string', default: 'small' }, scenario: { type: 'string', multiple: true }, seed: { type: 'string', default: '1' }, keep: { type: 'boolean', default: false }, help: { type: 'boolean' } } });
  } catch (err) {
    return fail((err as Error).message);
  }
})();
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
if (values.scale !== 'small' && values.scale !== 'full') fail(`--scale must be small or full, not ${values.scale}`);
const scale = values.scale as ScaleName;
const seed = Number(values.seed);
if (!Number.isInteger(seed)) fail(`--seed must be an integer, not ${values.seed}`);
const unknown = (values.scenario ?? []).filter((n) => !SCENARIOS.some((s) => s.name === n));
if (unknown.length > 0) fail(`unknown scenario ${unknown.join(', ')}`);
const chosen = values.scenario ? SCENARIOS.filter((s) => values.scenario!.includes(s.name)) : SCENARIOS;
const database_url = process.env.WACOFLOW_DATABASE_URL ?? fail('set WACOFLOW_DATABASE_URL, e.g. postgres://postgres@127.0.0.1:5432/test (npm run services -- up)');

const say = (line: string) => process.stderr.write(`[chaos] ${line}\n`);
const work_dir = mkdtempSync(join(tmpdir(), 'wacoflow-chaos-'));
say(`starting a Kafka broker of its own; work folder ${work_dir}`);
const kafka = await Kafka.start();
const rows: Row[] = [];
const started = Date.now();
try {
  for (const scenario of chosen) {
    const t = Date.now();
    try {
      rows.push(await runScenario(scenario, { scale, seed, kafka, database_url, work_dir, keep: values.keep!, progress: say }));
    } catch (err) {
      say(`${scenario.name} failed to run: ${(err as Error).stack ?? String(err)}`);
      rows.push({ scenario: scenario.name, sent: 0, stored: 0, lost: 0, twice: 0, windows_exact: 0, windows: 0, recover_ms: null, drained: false, notes: [`did not run: ${(err as Error).message.split('\n')[0]}`], ok: false });
    }
    say(`${scenario.name}: ${rows.at(-1)!.ok ? 'ok' : 'FAILED'} in ${Math.round((Date.now() - t) / 1000)} s`);
  }
} finally {
  await kafka.stop().catch(() => {});
  if (!values.keep) rmSync(work_dir, { recursive: true, force: true });
}

const fmt = (n: number) => n.toLocaleString('en-US');
const pct = (r: Row) => (r.windows === 0 ? '—' : `${((100 * r.windows_exact) / r.windows).toFixed(r.windows_exact === r.windows ? 0 : 2)} % of ${fmt(r.windows)}`);
console.log(`\n### Fault harness, ${scale} scale: ${new Date().toISOString().slice(0, 10)}, ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}, Node ${process.version}, seed ${seed}\n`);
console.log('| scenario | bins sent | bins stored | lost | counted twice | windows exact | time to recover | result | notes |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.scenario} | ${fmt(r.sent)} | ${fmt(r.stored)} | ${fmt(r.lost)} | ${fmt(r.twice)} | ${pct(r)} | ${r.recover_ms === null ? 'not recovered' : `${(r.recover_ms / 1000).toFixed(1)} s`} | ${r.ok ? 'ok' : '**FAILED**'} | ${r.notes.join('; ')} |`);
}
console.log(`\n${rows.filter((r) => r.ok).length} of ${rows.length} scenarios ok in ${Math.round((Date.now() - started) / 1000)} s`);
process.exit(rows.every((r) => r.ok) ? 0 : 1);
