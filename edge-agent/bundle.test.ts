/**
 * The one-file agent bundle a board runs (`npm run build:agent`): built into a temporary folder and started
 * through its own first line, the way `./wacoflow-agent.mjs --config FILE` starts it on a board, so the V8 flags
 * written there are accepted by Node. The build leaves zod's other languages out: its messages must still be
 * the English ones, naming the field.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..');

describe('agent bundle', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wacoflow-bundle-'));
  const bundle = join(dir, 'wacoflow-agent.mjs');
  beforeAll(async () => {
    await run(process.execPath, [join(root, 'scripts', 'build-agent.mjs'), bundle]);
  }, 120_000);

  it('starts through its first line and reports a bad configuration in English, field by field', async () => {
    const config = join(dir, 'agent.yaml');
    writeFileSync(config, ['device_id: a', 'site: waco', 'mqtt_url: mqtt://127.0.0.1:9', 'mqtt_password: x', 'bin_ms: 7', 'inputs: []'].join('\n'));
    // Executed directly: the kernel reads `#!/usr/bin/env -S node <flags>`; Node must accept those flags.
    const r = await run(bundle, ['check', '--config', config], { env: { ...process.env, PATH: `${join(process.execPath, '..')}:${process.env.PATH}` } }).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(r?.code).toBe(2);
    expect(r?.stderr).toContain(`${config}: bin_ms: Too small: expected number to be >=20000`);
    expect(r?.stderr).toContain(`${config}: inputs: configure at least one input`);
  }, 60_000);

  it('is plain ASCII, which V8 keeps at one byte per character', () => {
    const text = readFileSync(bundle);
    expect(text.subarray(0, 2).toString()).toBe('#!');
    expect(text.findIndex((byte) => byte > 0x7f)).toBe(-1);
  });
});
