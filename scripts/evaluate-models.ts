/**
 * `npm run evaluate`: anomaly detection and forecasts on the real data in data/real/, walk-forward. It rewrites
 * the generated tables of docs/traffic-model.md and prints them; `--check` only says whether the document is
 * current (exit 1 if not). The method and an honest reading are in that document ("Evaluation on real data").
 * This file only reads and writes files; scripts/evaluate/run.ts is the evaluation.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generatedTables, withTables } from './evaluate/doc.ts';
import { NAB_SERIES, runEvaluation } from './evaluate/run.ts';

const root = new URL('../data/real/', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, root), 'utf8');
const DOC = fileURLToPath(new URL('../docs/traffic-model.md', import.meta.url));
const check = process.argv.includes('--check');

const started = Date.now();
process.stderr.write('evaluating on data/real/…\n');
const nab = Object.fromEntries(NAB_SERIES.map(({ file }) => [file, read(`nab-mndot/${file}`)]));
const e = runEvaluation({
  nab,
  nab_windows: JSON.parse(read('nab-mndot/anomaly_windows.json')),
  i94: read('uci-metro-i94/Metro_Interstate_Traffic_Volume.csv'),
  webtris: read('webtris-a64/A64_site6867_2021-05-01.csv'),
});
const tables = generatedTables(e);
for (const [name, table] of tables) console.log(`## ${name}\n\n${table}\n`);
if (e.i94) console.log(`I-94: ${e.i94.rows} rows, ${e.i94.duplicate_rows} duplicate-hour rows dropped, ${e.i94.hours} hours used.`);

const { doc, changed } = withTables(readFileSync(DOC, 'utf8'), tables);
const took = `${((Date.now() - started) / 1000).toFixed(1)} s`;
if (changed.length === 0) {
  process.stderr.write(`docs/traffic-model.md is current (${took})\n`);
} else if (check) {
  process.stderr.write(`docs/traffic-model.md is out of date: ${changed.join(', ')} differ from the code; run npm run evaluate\n`);
  process.exitCode = 1;
} else {
  writeFileSync(DOC, doc);
  process.stderr.write(`docs/traffic-model.md: rewrote the ${changed.join(', ')} table${changed.length > 1 ? 's' : ''} (${took})\n`);
}
