/**
 * Tests that repeat a fault many times (SIGKILLs, power cuts) or prove a point by its absence run a smaller
 * version by default, which is what CI runs within its 15 minutes on two cores, and the full version with
 * `WACOFLOW_TEST_SCALE=full npm test`.
 */
export const FULL_SCALE = process.env.WACOFLOW_TEST_SCALE === 'full';

/** `small` normally, `full` at full scale. */
export function scaled(small: number, full: number): number {
  return FULL_SCALE ? full : small;
}
