/**
 * Debian's Chromium for the dashboard's browser tests, started the way it behaves on a machine without a route
 * to the internet, and a record of the step a browser test is on, so a test that runs out of time says where.
 * For tests only.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { onTestFailed } from 'vitest';

export const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

/**
 * Headless Chromium with its background traffic (component updates, sync, field trials) switched off: with no
 * network, those connections fail over and over and slow its start; it must start within `timeout_ms`.
 */
export function launchChromium(timeout_ms = 60_000): Promise<Browser> {
  if (!CHROMIUM) throw new Error('chromium is not installed: apt-get install chromium');
  return chromium.launch({
    executablePath: CHROMIUM,
    timeout: timeout_ms,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/**
 * Call `step('what now')` before each stage of a test; if the test fails (a timeout included), the report lists
 * the stages with the time each took, plus whatever `detail()` adds.
 */
export function stepsOfTest(detail: () => string = () => ''): (name: string) => void {
  const steps: { name: string; at: number }[] = [{ name: 'starting', at: Date.now() }];
  onTestFailed(() => {
    // The whole trail with each step's time: clean-up steps run after the failure, so the last one is not it.
    const trail = steps.map((s, i) => `${s.name} (${(((steps[i + 1]?.at ?? Date.now()) - s.at) / 1000).toFixed(1)} s)`).join(' → ');
    const extra = detail();
    console.error(`steps: ${trail}${extra ? `; ${extra}` : ''}`);
  });
  return (name) => void steps.push({ name, at: Date.now() });
}
