import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const HEAP = new URL('./heap.ts', import.meta.url).pathname;

/** The factor V8 applied at a full collection in a process that tuned its heap, with these node flags. */
function factorAfterFullCollection(nodeFlags: string[]): { tuned: boolean; factor: number } {
  const dir = mkdtempSync(join(tmpdir(), 'wacoflow-heap-'));
  const script = join(dir, 'child.mts');
  writeFileSync(script, `import { tuneGatewayHeap } from ${JSON.stringify(HEAP)};
const tuned = tuneGatewayHeap();
const live = Array.from({ length: 200_000 }, (_, i) => ({ id: 'station-' + i }));
globalThis.gc();
console.log(JSON.stringify({ tuned, live: live.length }));
`);
  // --trace-gc-verbose prints V8's heap controller: "[HeapController] Limit: old size: …, new limit: … (F)".
  const out = execFileSync(process.execPath, ['--expose-gc', '--trace-gc-verbose', ...nodeFlags, '--import', 'tsx', script], { encoding: 'utf8' });
  const factors = [...out.matchAll(/\[HeapController\] Limit: .*\((\d+\.\d)\)/g)].map((m) => Number(m[1]));
  const report = JSON.parse(out.split('\n').find((l) => l.startsWith('{'))!) as { tuned: boolean };
  expect(factors.length).toBeGreaterThan(0);
  return { tuned: report.tuned, factor: factors[factors.length - 1]! };
}

describe('the gateway heap', () => {
  it('lets the old generation grow to twice its live size before the next full collection', () => {
    expect(factorAfterFullCollection([])).toEqual({ tuned: true, factor: 2 });
  });

  it("leaves an operator's own choice alone", () => {
    expect(factorAfterFullCollection(['--heap-growing-percent=50'])).toEqual({ tuned: false, factor: 1.5 });
  });
});
