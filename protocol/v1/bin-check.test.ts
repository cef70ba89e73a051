/**
 * The plain bin checks against the zod schemas they stand in for: on thousands of mutated bins and batches,
 * a check that accepts must be one zod accepts, with the same value; and where zod accepts, so does the check
 * (otherwise the fast path would be a slow path in disguise).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BinBatchSchema, BinSchema } from './bin.ts';
import { checkBin, checkBinBatch } from './bin-check.ts';

const fixture = (name: string): unknown => JSON.parse(readFileSync(new URL(`../fixtures/valid/${name}.json`, import.meta.url), 'utf8'));

/** Values that sit on or across some schema boundary. */
const EDGES: unknown[] = [
  null, undefined, true, 0, -0, -1, 1, 0.5, 7, 60_000, 299_999, 300_000, 86_400_001, 2 ** 53, -(2 ** 53), 8_640_000_000_001,
  Infinity, NaN, '', 'x', 'a b', 'agent/#', '-lead', 'x'.repeat(64), 'x'.repeat(65), '60000', {}, [], [1], { synced: true }, '__proto__',
];

/** A seeded generator (mulberry32): the same mutants every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Every path to an own value in a JSON tree, objects and arrays alike. */
function paths(v: unknown, at: (string | number)[] = []): (string | number)[][] {
  if (typeof v !== 'object' || v === null) return [at];
  const keys = Array.isArray(v) ? v.map((_, i) => i) : Object.keys(v);
  return [at, ...keys.flatMap((k) => paths((v as Record<string | number, unknown>)[k], [...at, k]))];
}

/** One random change: a value replaced by an edge value, a key removed, or an unknown key added. */
function mutate(base: unknown, rnd: () => number): unknown {
  const copy = structuredClone(base) as Record<string, unknown>;
  const all = paths(copy).filter((p) => p.length > 0);
  const path = all[Math.floor(rnd() * all.length)]!;
  let parent: Record<string | number, unknown> = copy;
  for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
  const last = path.at(-1)!;
  const r = rnd();
  if (r < 0.7) parent[last] = EDGES[Math.floor(rnd() * EDGES.length)];
  else if (r < 0.85 && !Array.isArray(parent)) delete parent[last];
  else if (!Array.isArray(parent)) parent[rnd() < 0.5 ? 'extra' : 'queue_max_veh'] = EDGES[Math.floor(rnd() * EDGES.length)];
  return copy;
}

function compare(check: (v: unknown) => unknown, schema: typeof BinSchema | typeof BinBatchSchema, base: unknown, n: number, seed: number) {
  const rnd = random(seed);
  const tally = { accepted: 0, refused: 0 };
  for (let i = 0; i < n; i++) {
    // Up to three mutations on top of each other, so errors combine.
    let value = base;
    for (let m = 1 + Math.floor(rnd() * 3); m > 0; m--) value = mutate(value, rnd);
    const fast = check(value);
    const slow = schema.safeParse(value);
    const what = JSON.stringify(value);
    if (fast === undefined) {
      expect(slow.success, `zod accepts what the check refuses: ${what}`).toBe(false);
      tally.refused++;
    } else {
      expect(slow.success, `the check accepts what zod refuses: ${what}`).toBe(true);
      expect(JSON.stringify(fast), what).toBe(JSON.stringify(slow.data));
      tally.accepted++;
    }
  }
  return tally;
}

describe('plain bin checks agree with the schemas', () => {
  it('return what zod returns for the valid fixtures, field for field and in the same order', () => {
    for (const [name, check, schema] of [['bin', checkBin, BinSchema], ['bin_batch', checkBinBatch, BinBatchSchema]] as const) {
      const v = fixture(name);
      expect(check(v), name).toBeDefined();
      expect(JSON.stringify(check(v))).toBe(JSON.stringify(schema.parse(v)));
    }
    const withQueue = { ...(fixture('bin') as Record<string, unknown>) };
    withQueue.measures = { ...(withQueue.measures as object), queue_max_veh: 4 };
    expect(JSON.stringify(checkBin(withQueue))).toBe(JSON.stringify(BinSchema.parse(withQueue)));
  });

  it('agree with zod on 5,000 mutated bins', () => {
    const tally = compare(checkBin, BinSchema, fixture('bin'), 5_000, 1);
    // Both outcomes occur often enough for the comparison to mean something.
    expect(tally.accepted).toBeGreaterThan(200);
    expect(tally.refused).toBeGreaterThan(2_000);
  });

  it('agree with zod on 5,000 mutated batches', () => {
    const batch = fixture('bin_batch') as { bins: unknown[] };
    const tally = compare(checkBinBatch, BinBatchSchema, { ...batch, dropped: { sentinel_speed: 2 } }, 5_000, 2);
    expect(tally.accepted).toBeGreaterThan(200);
    expect(tally.refused).toBeGreaterThan(2_000);
  });
});
