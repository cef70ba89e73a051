/** The shipped Prometheus files must load in a real Prometheus: `promtool check config` (CI installs promtool). */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const promtool = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((p) => existsSync(p));
const required = process.env.WACOFLOW_REQUIRE_SERVICES === '1';

describe('deploy/prometheus', () => {
  it.skipIf(!promtool && !required)('prometheus.yml passes promtool check config', () => {
    expect(promtool, 'promtool is required in CI: apt-get install prometheus').toBeDefined();
    const out = execFileSync(promtool!, ['check', 'config', join(import.meta.dirname, 'prometheus.yml')], { encoding: 'utf8' });
    expect(out).toContain('SUCCESS');
  });
});
