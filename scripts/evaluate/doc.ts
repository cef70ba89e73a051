/**
 * The evaluation's tables in docs/traffic-model.md are generated: each sits between an opening marker naming
 * it, `<!-- evaluate: forecasts -->`, and `<!-- /evaluate -->`. `npm run evaluate` rewrites them from the code;
 * a test checks the committed ones equal what the code produces, so no figure in the docs drifts from it.
 */
import type { Evaluation } from './run.ts';
import { detectionTable, forecastTable, healthTable, incidentTable, onsetTable, seriesTable, webtrisTable } from './tables.ts';

/** Every generated table, by the name its marker carries. */
export function generatedTables(e: Evaluation): Map<string, string> {
  return new Map([
    ['series', seriesTable(e)],
    ['anomalies', detectionTable(e.anomalies.robust, e.anomalies.fixed)],
    ['health', healthTable(e)],
    ['forecasts', forecastTable(e.forecasts)],
    ['onsets', onsetTable(e.onsets)],
    ['incidents', incidentTable(e.incidents)],
    ['webtris', webtrisTable(e.webtris)],
  ]);
}

const BLOCK = /<!-- evaluate: ([\w-]+) -->\n([\s\S]*?)<!-- \/evaluate -->/g;

/** The tables as the document holds them now, by name. */
export function documentedTables(doc: string): Map<string, string> {
  return new Map([...doc.matchAll(BLOCK)].map((m) => [m[1]!, m[2]!.trim()]));
}

/**
 * The document with every generated block replaced by its table. A block the code does not produce, or a
 * table with no block to go in, is an error naming it: the document and the code must agree on the set.
 */
export function withTables(doc: string, tables: ReadonlyMap<string, string>, file = 'docs/traffic-model.md'): { doc: string; changed: string[] } {
  const documented = documentedTables(doc);
  const unknown = [...documented.keys()].filter((k) => !tables.has(k));
  if (unknown.length > 0) throw new Error(`${file}: block "${unknown.join('", "')}" is not a table the evaluation produces (known: ${[...tables.keys()].join(', ')})`);
  const missing = [...tables.keys()].filter((k) => !documented.has(k));
  if (missing.length > 0) throw new Error(`${file}: no <!-- evaluate: ${missing[0]} --> … <!-- /evaluate --> block for the ${missing.join(', ')} table; add one where it belongs`);
  const changed = [...tables].filter(([k, t]) => documented.get(k) !== t).map(([k]) => k);
  return { doc: doc.replace(BLOCK, (_, name: string) => `<!-- evaluate: ${name} -->\n${tables.get(name)}\n<!-- /evaluate -->`), changed };
}
