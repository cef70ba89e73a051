import { describe, it } from 'vitest';
import { runSkeleton } from './app.e2e.ts';

describe('walking skeleton, embedded (in-process log, PGlite)', () => {
  it('turns simulated detector feeds into exact final station windows served over HTTP', async () => {
    await runSkeleton();
  }, 120_000);
});
