import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

/**
 * Tests whose simulated city runs at a speed-up against real-time deadlines (serial lines at their baud rate,
 * HTTP polls with timeouts, the dashboard's map of the whole city in Chromium): on a shared two-core machine,
 * run beside the rest of the suite and the fault harness they miss reads, count fewer vehicles than the
 * simulator made, or wait past their deadline. They run after the rest, one at a time.
 */
const PACED = ['embedded/sumo.test.ts', 'demo/demo.test.ts', 'embedded/faults.test.ts', 'central/dashboard/city-map.test.ts'];

/**
 * The rest spend most of their time waiting on brokers, databases, timers and child processes, so two files
 * at a time keep two cores busy (vitest's default, one less than the cores, ran them one by one here).
 */
const WORKERS = Math.max(2, availableParallelism() - 1);

export default defineConfig({
  test: {
    exclude: ['node_modules/**', '.services/**'],
    // Real-service suites start brokers and databases; give them room on a shared two-core machine.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    projects: [
      { extends: true, test: { name: 'suite', include: ['**/*.test.ts'], exclude: ['node_modules/**', '.services/**', ...PACED], maxWorkers: WORKERS, sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'paced', include: PACED, fileParallelism: false, sequence: { groupOrder: 1 } } },
    ],
  },
});
