/**
 * The files in deploy/kubernetes/base/generated/, from their one source each: kustomize may only read files
 * below the kustomization, and a PrometheusRule holds its rules inline, so they are written here instead of
 * copied by hand. `npm run deploy:generate` writes them; deploy/kubernetes/manifests.test.ts fails when a
 * committed file differs from what this produces.
 *
 *   deploy/prometheus/rules.yml      → generated/prometheus-rule.yaml     (PrometheusRule, the same groups)
 *   deploy/grafana/dashboards/*.json → generated/grafana-dashboards.yaml  (ConfigMap for Grafana's sidecar)
 *   central/sample-inventory.yaml    → generated/inventory.yaml           (the city's stations: replace it)
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse, stringify } from 'yaml';

const ROOT = join(import.meta.dirname, '..', '..');
export const GENERATED_DIR = join(import.meta.dirname, 'base', 'generated');

const header = (source: string, what: string): string =>
  `# Generated from ${source} by \`npm run deploy:generate\`: edit the source, not this file.\n# ${what}\n`;

export function generatedFiles(): Map<string, string> {
  const files = new Map<string, string>();
  const rules = parse(readFileSync(join(ROOT, 'deploy', 'prometheus', 'rules.yml'), 'utf8')) as { groups: unknown[] };
  const rule = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: 'wacoflow' },
    spec: { groups: rules.groups },
  };
  files.set('prometheus-rule.yaml', header('deploy/prometheus/rules.yml', 'The alerting rules promtool tests (deploy/prometheus/rules.test.yml), for the Prometheus Operator.') + stringify(rule, { lineWidth: 0 }));

  const dir = join(ROOT, 'deploy', 'grafana', 'dashboards');
  const dashboards = Object.fromEntries(readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
  const configMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    // grafana_dashboard: the label Grafana's dashboard sidecar (kube-prometheus-stack) loads ConfigMaps by.
    metadata: { name: 'wacoflow-grafana-dashboards', labels: { grafana_dashboard: '1' } },
    data: dashboards,
  };
  files.set('grafana-dashboards.yaml', header('deploy/grafana/dashboards/', "WacoFlow's Grafana dashboards, for Grafana's dashboard sidecar.") + stringify(configMap, { lineWidth: 0 }));

  const inventory = readFileSync(join(ROOT, 'central', 'sample-inventory.yaml'), 'utf8');
  files.set('inventory.yaml', header('central/sample-inventory.yaml', "The simulated Waco network: replace it with the city's stations (docs/deploy.md).") + inventory);
  return files;
}

if (process.argv[1] === import.meta.filename) {
  for (const [name, text] of generatedFiles()) {
    writeFileSync(join(GENERATED_DIR, name), text);
    console.log(`wrote ${relative(ROOT, join(GENERATED_DIR, name))}`);
  }
}
