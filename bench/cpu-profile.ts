/**
 * Where a process's CPU went, by component, from a V8 CPU profile (inspector `Profiler.stop`, or the
 * `.cpuprofile` file `node --cpu-prof` writes). Each sample is charged to the innermost frame on its stack that
 * names a component: the project's own directories (simulators/, edge-agent/, gateway/, central/), or a
 * library that belongs to one (PGlite is the database, aedes the gateway's broker, mqtt the agents' client).
 * Shared code (protocol/, platform/, zod, pino, Node's internals) is charged to whoever called it; a sample
 * with no such frame at all (socket reads, timers, GC) is the runtime's.
 */
export interface CpuProfile {
  nodes: { id: number; callFrame: { url: string; functionName: string }; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}

export const RUNTIME = 'Node.js runtime (I/O, timers, GC)';

/** [pattern in a frame's URL, component]: the first that matches wins. */
const RULES: [RegExp, string][] = [
  [/\/node_modules\/@electric-sql\/pglite\//, 'database (PGlite)'],
  [/\/node_modules\/kafkajs\//, 'log (Kafka client)'],
  [/\/node_modules\/aedes[^/]*\//, 'gateway'],
  [/\/node_modules\/mqtt\//, 'agents'],
  [/\/node_modules\//, ''],
  [/\/simulators\//, 'simulated devices'],
  [/\/edge-agent\//, 'agents'],
  [/\/gateway\//, 'gateway'],
  [/\/platform\/log\//, 'log (in-process)'],
  [/\/central\//, 'central'],
];

function componentOf(url: string): string {
  for (const [re, component] of RULES) if (re.test(url)) return component;
  return '';
}

/** Sampled milliseconds per component (idle excluded), largest first. */
export function cpuByComponent(profile: CpuProfile): { component: string; ms: number }[] {
  const parent = new Map<number, number>();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const memo = new Map<number, string>();
  const resolve = (id: number): string => {
    const known = memo.get(id);
    if (known !== undefined) return known;
    const node = byId.get(id)!;
    const name = node.callFrame.functionName;
    let component: string;
    if (name === '(idle)') component = '(idle)';
    else if (name === '(garbage collector)' || name === '(program)' || name === '(root)') component = RUNTIME;
    else component = componentOf(node.callFrame.url) || (parent.has(id) ? resolve(parent.get(id)!) : RUNTIME);
    memo.set(id, component);
    return component;
  };
  const ms = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const c = resolve(id);
    if (c !== '(idle)') ms.set(c, (ms.get(c) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  return [...ms].map(([component, t]) => ({ component, ms: t })).sort((a, b) => b.ms - a.ms);
}
