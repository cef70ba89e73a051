/**
 * For central's tests, inside `describe.each(backends())`: a fresh log and database per test with topics of
 * their own, and centrals on them; everything is stopped and closed after the test, newest first.
 */
import { afterEach } from 'vitest';
import { ManualClock } from '../platform/clock.ts';
import { ownTopics, startCentral, type Backend, type TestCentral } from './testing.ts';

export function testEnv(backend: Backend) {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });
  return {
    /** A fresh environment, and a manual clock at `start_ms`. */
    async open(start_ms: number) {
      const env = await backend.open();
      cleanups.push(env.close);
      return { env, topics: ownTopics(), clock: new ManualClock(start_ms) };
    },
    /** A started central, stopped after the test. */
    async central(...args: Parameters<typeof startCentral>): Promise<TestCentral> {
      const t = await startCentral(...args);
      cleanups.push(() => t.central.stop());
      return t;
    },
  };
}
