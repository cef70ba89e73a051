/**
 * V8's heap sizing for the gateway process, set as `wacoflow gateway` starts.
 *
 * After a full collection V8 lets the old generation grow by a factor it derives from how fast collection is
 * compared with the program; a program that collects quickly, as the gateway does, gets 1.1–1.4 times its live
 * size. V8 also starts marking whenever the room left under that limit is less than the young generation could
 * promote at once. With the gateway's few tens of MiB live (about 36) the room was always less: in the load test
 * (1,000 agents, 5,000 bins/s) it ran a full collection every 0.22 s, a third of its CPU, with the heap never
 * near its limit. A fixed factor of 2 ended that: 13 full collections in a 45-s run instead of 115, and the
 * gateway's CPU per bin fell by about a third (docs/benchmarks.md). The cost is memory, at most the live size
 * again: tens of MiB.
 *
 * Only the gateway: central's collections are mostly of the young generation, and the same factor there kept
 * twice the memory for no fewer collections. The edge agent's memory on a board is budgeted.
 */
import { setFlagsFromString } from 'node:v8';

/** The old generation may grow to (1 + this / 100) times its live size before the next full collection. */
export const GATEWAY_HEAP_GROWING_PERCENT = 100;

/** Sets the factor unless the operator chose one (NODE_OPTIONS or node's own command line). */
export function tuneGatewayHeap(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): boolean {
  const chosen = [...execArgv, ...nodeOptions.split(/\s+/)].some((a) => a.startsWith('--heap-growing-percent'));
  if (!chosen) setFlagsFromString(`--heap-growing-percent=${GATEWAY_HEAP_GROWING_PERCENT}`);
  return !chosen;
}
