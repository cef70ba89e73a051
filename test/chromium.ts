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
 * Call `step('what now')` before each stage of a test; if the test fails (a timeout included), the failure
 * report names the stage it was in and how long it had been there, plus whatever `detail()` adds.
 */
export function stepsOfTest(detail: () => string = () => ''): (name: string) => void {
  let current = 'starting';
  let since = Date.now();
  onTestFailed(() => {
    const extra = detail();
    console.error(`failed during "${current}", ${((Date.now() - since) / 1000).toFixed(1)} s into it${extra ? `; ${extra}` : ''}`);
  });
  return (name) => {
    current = name;
    since = Date.now();
  };
}
