/**
 * The Grafana provisioning and dashboards: well-formed, every panel on a provisioned data source, every PromQL
 * expression accepted by Prometheus's own parser (promtool, through a throw-away rules file) and naming only
 * metrics WacoFlow exports, and every SQL query run against the real schema (PGlite, migrated) with Grafana's
 * time macros filled in. Grafana itself is not a Debian package, so it is not started here.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { centralMetrics, viewMetrics } from '../../central/metrics.ts';
import { openPglite } from '../../central/store/pglite-driver.ts';
import { Store } from '../../central/store/store.ts';

const here = import.meta.dirname;
const promtool = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((p) => existsSync(p));
const required = process.env.WACOFLOW_REQUIRE_SERVICES === '1';

interface Target { refId: string; datasource: { uid: string }; expr?: string; rawSql?: string }
interface Panel { id: number; title: string; datasource: { uid: string }; targets: Target[] }
const dashboards = readdirSync(join(here, 'dashboards')).map((f) => ({ file: f, json: JSON.parse(readFileSync(join(here, 'dashboards', f), 'utf8')) as { uid: string; panels: Panel[] } }));
const targets = dashboards.flatMap((d) => d.json.panels.flatMap((p) => p.targets.map((t) => ({ where: `${d.file}: ${p.title}`, ...t }))));
const provisioned = [...readFileSync(join(here, 'provisioning', 'datasources', 'wacoflow.yaml'), 'utf8').matchAll(/uid: (\S+)/g)].map((m) => m[1]);

describe('deploy/grafana', () => {
  it('has a traffic and a fleet dashboard, each panel on a provisioned data source', () => {
    expect(dashboards.map((d) => d.json.uid).sort()).toEqual(['wacoflow-fleet', 'wacoflow-traffic']);
    for (const d of dashboards) {
      const ids = d.json.panels.map((p) => p.id);
      expect(new Set(ids).size, d.file).toBe(ids.length);
    }
    for (const t of targets) expect(provisioned, t.where).toContain(t.datasource.uid);
    expect(targets.filter((t) => t.expr).length).toBeGreaterThan(10);
    expect(targets.filter((t) => t.rawSql).length).toBeGreaterThan(5);
  });

  it.skipIf(!promtool && !required)('every PromQL expression parses and uses only metrics WacoFlow exports', () => {
    expect(promtool, 'promtool is required in CI: apt-get install prometheus').toBeDefined();
    const exprs = targets.filter((t) => t.expr);
    const dir = mkdtempSync(join(tmpdir(), 'wacoflow-grafana-'));
    const rules = ['groups:', '  - name: dashboard-expressions', '    rules:', ...exprs.flatMap((t, i) => [`      - record: dashboard:expr_${i}`, `        expr: ${JSON.stringify(t.expr)}`])];
    writeFileSync(join(dir, 'rules.yml'), rules.join('\n'));
    expect(execFileSync(promtool!, ['check', 'rules', join(dir, 'rules.yml')], { encoding: 'utf8' })).toContain(`SUCCESS: ${exprs.length} rules found`);

    const registry = new Registry();
    centralMetrics(registry);
    viewMetrics(registry, { fleet: async () => [], openAlerts: async () => [], stationLevels: async () => [] });
    const exported = new Set(registry.getMetricsAsArray().map((m) => m.name));
    for (const t of exprs) {
      for (const [name] of t.expr!.matchAll(/wacoflow_[a-z_]+/g)) {
        expect(exported.has(name.replace(/_(bucket|sum|count)$/, '')), `${t.where}: ${name}`).toBe(true);
      }
    }
  });

  it('every SQL query runs on the real schema', async () => {
    const db = await openPglite();
    try {
      await new Store(db).migrate();
      const from = Date.UTC(2026, 10, 28) / 1000;
      for (const t of targets.filter((x) => x.rawSql)) {
        const sql = t.rawSql!.replaceAll('$__unixEpochFrom()', String(from)).replaceAll('$__unixEpochTo()', String(from + 86_400));
        expect(sql, t.where).not.toContain('$__');
        await expect(db.query(sql), t.where).resolves.toBeDefined();
      }
    } finally {
      await db.close();
    }
  });
});
