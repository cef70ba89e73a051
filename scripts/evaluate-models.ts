/**
 * `npm run evaluate`: anomaly detection and forecasts on the real data in data/real/, walk-forward, printed as
 * Markdown. The method and an honest reading are in docs/traffic-model.md ("Evaluation on real data").
 * This file only reads the data; scripts/evaluate/run.ts is the evaluation.
 */
import { readFileSync } from 'node:fs';
import { NAB_SERIES, runEvaluation } from './evaluate/run.ts';
import { detectionTable, forecastTable, healthTable, seriesTable } from './evaluate/tables.ts';

const root = new URL('../data/real/', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, root), 'utf8');

const nab = Object.fromEntries(NAB_SERIES.map(({ file }) => [file, read(`nab-mndot/${file}`)]));
const e = runEvaluation({
  nab,
  nab_windows: JSON.parse(read('nab-mndot/anomaly_windows.json')),
  i94: read('uci-metro-i94/Metro_Interstate_Traffic_Volume.csv'),
});

console.log('## MnDOT series after resampling onto 5-minute windows\n');
console.log(seriesTable(e));
console.log('\n## Anomaly detection against NAB labelled windows (robust time-of-week score vs fixed thresholds)\n');
console.log(detectionTable(e.anomalies.robust, e.anomalies.fixed));
console.log('\n## Detector-health rules on the same (unlabelled for faults) data: alerts opened\n');
console.log(healthTable(e));
console.log('\n## Forecast error, walk-forward (MAE / RMSE; MnDOT speed in the file\'s unit, I-94 in vehicles per hour)\n');
console.log(forecastTable(e.forecasts));
if (e.i94) {
  console.log(`\nI-94: ${e.i94.rows} rows, ${e.i94.duplicate_rows} duplicate-hour rows dropped, ${e.i94.hours} hours used.`);
}
