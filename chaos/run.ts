/**
 * Runs one scenario end to end and judges it: every bin an agent accepted must be stored once, and every
 * window must equal the independent computation from those bins.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Measures } from '../protocol/index.ts';
import { seqsCovered } from '../central/store/store.ts';
import { Cluster, type Kafka } from './cluster.ts';
import { seeded, type ScaleName, type Scenario } from './scenarios.ts';
import { binCount, expectedWindows, layout, sameMeasures, SAMPLES_PER_BIN, type Scale, type WindowKey } from './workload.ts';

export const SCALES: Record<ScaleName, Scale & { pace_ms: number }> = {
  // 2,880 bins in about 18 s of generation.
  small: { agents: 4, stations_per_agent: 3, lanes: 2, minutes: 120, pace_ms: 150 },
  // 100,000 bins in about 2 minutes of generation.
  full: { agents: 10, stations_per_agent: 5, lanes: 4, minutes: 500, pace_ms: 240 },
};

/** After the faults heal, the agents' outboxes must be empty within this. */
const DRAIN_MS = 60_000;
/** …and central must have stored everything within this. */
const STORE_MS = 180_000;

export interface Row {
  scenario: string;
  sent: number;
  stored: number;
  lost: number;
  twice: number;
  windows_exact: number;
  windows: number;
  recover_ms: number | null;
  drained: boolean;
  notes: string[];
  ok: boolean;
}

export interface RunOptions {
  scale: ScaleName;
  seed: number;
  kafka: Kafka;
  database_url: string;
  work_dir: string;
  keep: boolean;
  progress(line: string): void;
}

export async function runScenario(scenario: Scenario, o: RunOptions): Promise<Row> {
  const scale = SCALES[o.scale];
  const run_id = `${scenario.name.replace(/-/g, '')}${randomBytes(3).toString('hex')}`;
  const full = o.scale === 'full';
  const minutes = full ? scale.minutes * (scenario.minutes_factor ?? 1) : scale.minutes;
  const agents = full ? scale.agents * (scenario.agents_factor ?? 1) : scale.agents;
  const l = layout(run_id, { ...scale, minutes, agents }, o.seed, Date.now());
  scenario.shape?.(l);
  const pace_ms = scale.pace_ms * (scenario.pace_factor ?? 1);
  const generate_ms = l.minutes * pace_ms;
  const cluster = await Cluster.create(l, join(o.work_dir, run_id), o.kafka, o.database_url, pace_ms);
  const notes: string[] = [];
  const problems: string[] = [];
  // Runs may overlap (central/store/seq-runs.ts): what they cover together, not the sum of their lengths.
  const stored = async (): Promise<number> => Number((await cluster.query<{ n: string }>(seqsCovered('ingested_seqs')).catch(() => [{ n: '0' }]))[0]!.n);
  try {
    o.progress(`${scenario.name}: ${binCount(l).toLocaleString('en-US')} bins from ${l.agents.length} agents; ${scenario.summary}`);
    await cluster.startGateway();
    for (let i = 0; i < scenario.centrals; i++) await cluster.startCentral(i);
    const start_ms = Date.now() + 1_000;
    await Promise.all(l.agents.map((_, i) => cluster.startAgent(i, start_ms)));
    const buffered = () => l.agents.reduce((n, _, i) => n + (cluster.agentStatus(i)?.depth ?? 0), 0);
    await scenario.faults({ cluster, scale: o.scale, generate_ms, start_ms, random: seeded(o.seed), notes, problems, buffered, stored });
    const healed = Date.now();
    o.progress(`${scenario.name}: faults over; waiting for the agents to drain`);

    // The outboxes empty within DRAIN_MS of the end (the end: faults healed and the workload generated).
    const end = Math.max(healed, start_ms + generate_ms);
    const drained = await cluster.waitAgentsDrained(end + DRAIN_MS - Date.now());
    const drained_after_ms = Math.max(0, Date.now() - end);
    const accepted = cluster.accepted();
    let n = await stored();
    const storeDeadline = Date.now() + STORE_MS;
    while (n < accepted.size && Date.now() < storeDeadline) {
      await new Promise((r) => setTimeout(r, 250));
      n = await stored();
    }
    // Time to recover: from the end (faults healed, workload generated) until central has stored every bin.
    const recover_ms = n >= accepted.size ? Math.max(0, Date.now() - end) : null;

    const storedKeys = new Set((await cluster.query<{ k: string }>("SELECT device_id || '/' || generate_series(first_seq, last_seq) AS k FROM ingested_seqs")).map((r) => r.k));
    const lost = [...accepted.keys()].filter((k) => !storedKeys.has(k)).length;
    const expected = expectedWindows(l, accepted.values());
    const windows = await cluster.query<{ level: string; key: string; window_start_ms: string; measures: Measures; clock_untrusted: boolean }>(
      'SELECT level, key, window_start_ms, measures, clock_untrusted FROM windows WHERE measures->>\'samples_seen\' <> \'0\'',
    );
    let exact = 0;
    let twice = 0;
    const seen = new Set<WindowKey>();
    /** What differs, for the log: the first few inexact windows, stored against expected. */
    const inexact: string[] = [];
    const brief = (m: Measures | undefined) => (m ? `volume ${m.volume}, samples ${m.samples_seen}/${m.samples_expected}, speed weight ${m.speed_weight}` : 'none');
    for (const w of windows) {
      const key = `${w.level}/${w.key}/${Number(w.window_start_ms)}` as WindowKey;
      seen.add(key);
      const e = expected.get(key);
      if (e && sameMeasures(w.measures, e.measures) && w.clock_untrusted === e.clock_untrusted) exact++;
      else inexact.push(`${key} (${new Date(Number(w.window_start_ms)).toISOString()}): stored ${brief(w.measures)}${w.clock_untrusted ? ', clock untrusted' : ''}; expected ${brief(e?.measures)}${e?.clock_untrusted ? ', clock untrusted' : ''}`);
      if (w.level === 'detector') twice += Math.max(0, w.measures.samples_seen - (e?.measures.samples_seen ?? 0)) / SAMPLES_PER_BIN;
    }
    for (const key of expected.keys()) if (!seen.has(key)) inexact.push(`${key}: not stored; expected ${brief(expected.get(key)!.measures)}`);
    if (inexact.length > 0) o.progress(`${scenario.name}: ${inexact.length} inexact windows, the first of them:\n  ${inexact.slice(0, 12).join('\n  ')}`);
    const total = new Set([...expected.keys(), ...seen]).size;
    const skewed = l.agents.some((a) => a.skew.length > 0);
    if (skewed) notes.push(`${windows.filter((w) => w.clock_untrusted).length} windows flagged clock_untrusted`);
    notes.push(drained ? `outboxes empty ${(drained_after_ms / 1000).toFixed(1)} s after the end` : `an outbox still held bins ${DRAIN_MS / 1000} s after the end`);
    const row: Row = {
      scenario: scenario.name, sent: accepted.size, stored: storedKeys.size, lost, twice, windows_exact: exact, windows: total, recover_ms, drained, notes,
      ok: lost === 0 && twice === 0 && exact === total && total > 0 && drained && recover_ms !== null && accepted.size > 0 && problems.length === 0,
    };
    notes.push(...problems.map((p) => `FAILED: ${p}`));
    if (!row.ok) o.progress(`${scenario.name} failed; its processes' logs end:\n${cluster.diagnostics()}`);
    return row;
  } finally {
    await cluster.close(o.keep);
  }
}
