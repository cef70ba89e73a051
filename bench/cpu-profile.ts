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

/** One rule: a frame matches when its URL matches `url` and, if given, its function name matches `fn`. */
export type FrameRule = { url: RegExp; fn?: RegExp; label: string };

/** Components of the whole system, for the simulator's profile: the first rule that matches wins. */
export const COMPONENTS: FrameRule[] = [
  { url: /\/node_modules\/@electric-sql\/pglite\//, label: 'database (PGlite)' },
  { url: /\/node_modules\/kafkajs\//, label: 'log (Kafka client)' },
  { url: /\/node_modules\/aedes[^/]*\//, label: 'gateway' },
  { url: /\/node_modules\/mqtt\//, label: 'agents' },
  { url: /\/node_modules\//, label: '' },
  { url: /\/simulators\//, label: 'simulated devices' },
  { url: /\/edge-agent\//, label: 'agents' },
  { url: /\/gateway\//, label: 'gateway' },
  { url: /\/platform\/log\//, label: 'log (in-process)' },
  { url: /\/central\//, label: 'central' },
];

/**
 * The steps of central's data path, for a profile of central consuming a backlog. Node's builtins have no URL,
 * so JSON.parse is charged to the decoder that called it. The database client and the Kafka client's reads
 * run on socket events, detached from the step that awaits them, so they are steps of their own.
 */
export const CENTRAL_STEPS: FrameRule[] = [
  { url: /\/node_modules\/zod\//, label: 'validate (schema)' },
  { url: /\/protocol\/decode\.ts/, fn: /^(toValue|tryDecode|decode)$/, label: 'decode (JSON)' },
  { url: /\/protocol\//, fn: /^encode$/, label: 'publish (windows topic)' },
  { url: /\/node_modules\/kafkajs\/src\/(producer|protocol\/requests\/produce|protocol\/recordBatch\/(v0\/index|record\/v0\/index|header\/v0\/index|crc32C))/, label: 'publish (windows topic)' },
  { url: /\/node_modules\/kafkajs\//, label: 'fetch (Kafka client)' },
  { url: /\/node_modules\/(pg|pg-protocol|pg-types|postgres-array)\//, label: 'PostgreSQL client (pg)' },
  { url: /\/central\/store\/(store|seq-runs)\.ts/, fn: /^(claimBins|admitSeqs|pruneDedupe)$/, label: 'dedupe' },
  { url: /\/central\/windows\//, label: 'fold' },
  { url: /\/central\/store\/store\.ts/, fn: /^(lockWindows|lockCorridors|inKeyOrder)$/, label: 'claim windows' },
  { url: /\/central\/consume\/bin-ingest\.ts/, fn: /^foldCorridors$/, label: 'claim windows' },
  { url: /\/central\/store\/store\.ts/, fn: /^updateWindows$/, label: 'write windows' },
  { url: /\/central\/store\/store\.ts/, fn: /^(keepRecentBins|observeDetectors|addLateEvents|addDeadLetters)$/, label: 'write bins\u2019 side rows' },
  { url: /\/central\/store\/sql\.ts/, fn: /^flush$/, label: 'write bins\u2019 side rows' },
  { url: /\/central\/(store\/store\.ts|consume\/partition-positions\.ts)/, fn: /^(saveOffsets?|loadOffset|unprocessed|advanced|commitToLog)$/, label: 'offsets' },
  { url: /\/central\/consume\/bin-ingest\.ts/, fn: /^commitToLog$/, label: 'offsets' },
  { url: /\/central\/(analytics\.ts|anomaly\/|forecast\/|store\/analytics-store\.ts)/, label: 'analytics (alerts, forecasts)' },
  { url: /\/central\/finalizer\.ts/, label: 'finalise' },
  { url: /\/central\/store\/store\.ts/, fn: /^(finalizeDue|fillNoData|advanceProgress|progress)$/, label: 'finalise' },
  { url: /\/central\/app\.ts/, fn: /^emit$/, label: 'publish (windows topic)' },
  { url: /\/node_modules\//, label: '' },
  { url: /\/central\//, label: 'central (other)' },
  { url: /\/platform\/log\//, label: 'fetch (Kafka client)' },
];

function labelOf(rules: FrameRule[], url: string, fn: string): string {
  for (const r of rules) if (r.url.test(url) && (!r.fn || r.fn.test(fn))) return r.label;
  return '';
}

/**
 * Sampled milliseconds per label (idle excluded), largest first. Each sample is charged to the innermost frame
 * on its stack that a rule labels; a sample with no labelled frame at all is the runtime's.
 */
export function cpuBy(profile: CpuProfile, rules: FrameRule[]): { component: string; ms: number }[] {
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
    else component = labelOf(rules, node.callFrame.url, name) || (parent.has(id) ? resolve(parent.get(id)!) : RUNTIME);
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

/** Sampled milliseconds per component of the system (COMPONENTS). */
export function cpuByComponent(profile: CpuProfile): { component: string; ms: number }[] {
  return cpuBy(profile, COMPONENTS);
}
