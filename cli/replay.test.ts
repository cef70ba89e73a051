/** `wacoflow replay` as a user runs it: recorded sample lines in, final windows out, mistakes named by line. */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '..', 'bin', 'wacoflow.js');
const CASE = join(import.meta.dirname, '..', 'edge-agent', 'inputs', 'tmdd-http', 'cases', 'iowa-sims-20s', 'expected.jsonl');
const FIELDS = ['level', 'key', 'window_start_ms', 'window_end_ms', 'volume', 'occupancy_pct', 'speed_kmh', 'speed_min_kmh', 'speed_max_kmh', 'observed_fraction', 'congestion', 'los', 'revision', 'final'];

describe('wacoflow replay', () => {
  it('writes one final window per line, every vehicle of the samples counted once per level', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'wf-replay-')), 'windows.jsonl');
    const r = await run(process.execPath, [BIN, 'replay', '--samples', CASE, '--bin-secs', '20', '--out', out]);
    expect(r.stderr).toMatch(/\d+ samples → \d+ final windows in /);
    const samples = readFileSync(CASE, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { volume: number | null; detector_id: string });
    const windows = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const w of windows) expect(Object.keys(w)).toEqual(FIELDS);
    expect(windows.every((w) => w.final === true && w.revision === 0)).toBe(true);
    const total = samples.reduce((n, s) => n + (s.volume ?? 0), 0);
    for (const level of ['detector', 'station']) {
      expect(windows.filter((w) => w.level === level).reduce((n, w) => n + ((w.volume as number | null) ?? 0), 0), level).toBe(total);
    }
    expect(new Set(windows.filter((w) => w.level === 'detector').map((w) => w.key))).toEqual(new Set(samples.map((s) => s.detector_id)));
  });

  it('names the file, line and field of every bad line, and refuses a bin that does not divide 5 minutes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wf-replay-'));
    const bad = join(dir, 'bad.jsonl');
    const good = readFileSync(CASE, 'utf8').split('\n')[0]!;
    writeFileSync(bad, [good, '{"detector_id":"d1"', good.replace('"volume":', '"volume":-4,"x":'), ''].join('\n'));
    const r = await run(process.execPath, [BIN, 'replay', '--samples', bad]).catch((e: { code: number; stderr: string }) => e);
    expect((r as { code: number }).code).not.toBe(0);
    expect(r.stderr).toContain(`${bad}:2: not a JSON object`);
    expect(r.stderr).toMatch(new RegExp(`${bad}:3: volume: .*>=0`));
    const b = await run(process.execPath, [BIN, 'replay', '--samples', CASE, '--bin-secs', '7']).catch((e: { code: number; stderr: string }) => e);
    expect(b.stderr).toContain('--bin-secs: must be a whole number of seconds that divides 300');
  });
});
