import { describe, expect, it } from 'vitest';
import { cpuBy, cpuByComponent, CENTRAL_STEPS, RUNTIME, type CpuProfile } from './cpu-profile.ts';

const frame = (id: number, url: string, functionName = 'f', children: number[] = []) => ({ id, callFrame: { url, functionName }, children });

describe('cpuByComponent', () => {
  it('charges each sample to the innermost frame that names a component, shared code to its caller', () => {
    const profile: CpuProfile = {
      nodes: [
        frame(1, '', '(root)', [2, 6, 8, 9]),
        frame(2, 'node:internal/timers', 'listOnTimeout', [3]),
        frame(3, 'file:///app/edge-agent/inputs/tmdd-http/poll.ts', 'poll', [4]),
        frame(4, 'file:///app/node_modules/fast-xml-parser/src/parse.js', 'parse', [5]),
        frame(5, 'file:///app/protocol/v1/bin.ts', 'validate'),
        frame(6, 'file:///app/central/store/store.ts', 'write', [7]),
        frame(7, 'file:///app/node_modules/@electric-sql/pglite/dist/index.js', 'query'),
        frame(8, 'node:net', 'onStreamRead'),
        frame(9, '', '(idle)'),
      ],
      samples: [5, 4, 3, 7, 7, 6, 8, 9, 9],
      timeDeltas: [1000, 1000, 1000, 2000, 2000, 1000, 500, 9000, 9000],
    };
    expect(cpuByComponent(profile)).toEqual([
      { component: 'database (PGlite)', ms: 4 },
      { component: 'agents', ms: 3 },
      { component: 'central', ms: 1 },
      { component: RUNTIME, ms: 0.5 },
    ]);
  });
});

describe('cpuBy with central steps', () => {
  it('charges the schema library to validation, builtins to the decoder that called them, and the database client to itself', () => {
    const profile: CpuProfile = {
      nodes: [
        frame(1, '', '(root)', [2, 6]),
        frame(2, 'file:///app/central/consume/bin-ingest.ts', 'ingestBins', [3, 5]),
        frame(3, 'file:///app/protocol/decode.ts', 'toValue', [4]),
        frame(4, '', 'parse'),
        frame(5, 'file:///app/node_modules/zod/v4/core/schemas.js', 'run'),
        frame(6, 'node:net', 'onStreamRead', [7]),
        frame(7, 'file:///app/node_modules/pg-protocol/dist/parser.js', 'parse'),
      ],
      samples: [4, 4, 5, 7, 2],
      timeDeltas: [1000, 1000, 3000, 4000, 500],
    };
    expect(cpuBy(profile, CENTRAL_STEPS)).toEqual([
      { component: 'PostgreSQL client (pg)', ms: 4 },
      { component: 'validate (schema)', ms: 3 },
      { component: 'decode (JSON)', ms: 2 },
      { component: 'central (other)', ms: 0.5 },
    ]);
  });
});
