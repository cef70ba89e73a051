import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', '.services/**'],
    // Real-service suites start brokers and databases; give them room on a shared two-core machine.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Most suites spend their time waiting on simulated clocks, brokers and outages, not on the CPU: two at a
    // time on two cores (the default would be one) halves the suite's wall time.
    maxWorkers: 2,
  },
});
