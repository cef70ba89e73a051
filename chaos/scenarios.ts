/**
 * The faults, one scenario each. A scenario starts what it needs beyond the default (one gateway, its central
 * instances, every agent), injects its faults while the agents generate, and returns once every fault has
 * healed; the runner then checks the outcome. `notes` end up in the table's last column.
 */
import { Kafka, logLevel } from 'kafkajs';
import { kafkaTopics } from '../protocol/index.ts';
import { rng } from '../simulators/traffic-model.ts';
import type { Cluster } from './cluster.ts';
import type { Layout } from './workload.ts';

export type ScaleName = 'small' | 'full';

export interface FaultContext {
  cluster: Cluster;
  scale: ScaleName;
  /** How long the agents take to generate the workload at their pace. */
  generate_ms: number;
  /** Real time the agents' minute 0 is due. */
  start_ms: number;
  random: () => number;
  notes: string[];
  /** What the scenario saw go wrong beyond the counts (the row fails if any). */
  problems: string[];
  /** Bins waiting in all agents' outboxes now. */
  buffered(): number;
  /** Bins stored so far (for throughput). */
  stored(): Promise<number>;
}

export interface Scenario {
  name: string;
  summary: string;
  /** Central instances started before the agents (scale-out starts its own). */
  centrals: number;
  /** Real milliseconds per generated minute, as a multiple of the default pace (scale-out makes a backlog fast). */
  pace_factor?: number;
  /**
   * More minutes than the scale gives, at full scale: scale-out needs a backlog whose thirds each take longer to
   * store than an instance takes to start (at three times the scale, one instance stored its third, at 38,000
   * bins/s, before the second was ready).
   */
  minutes_factor?: number;
  /**
   * More agents than the scale gives, at full scale: more bins per generated minute. The minutes cannot grow
   * without bound: a backlog older than central's late horizon is recorded as late, not windowed.
   */
  agents_factor?: number;
  /** Changes to the workload before it starts (clock-skew). */
  shape?(layout: Layout): void;
  faults(f: FaultContext): Promise<void>;
}

/** The longest a scale-out phase may take to store its third of the backlog before the scenario fails. */
const PHASE_LIMIT_MS = 10 * 60_000;

/** Records in each partition of a topic (its end offset less its start), in partition order. */
async function recordsIn(brokers: string, topic: string): Promise<number[]> {
  const admin = new Kafka({ brokers: [brokers], clientId: 'wacoflow-chaos-lag', logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.sort((a, b) => a.partition - b.partition).map((o) => Number(o.high) - Number(o.low));
  } finally {
    await admin.disconnect();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
/** Sleeps until `at` ms after the agents' start. */
const until = (f: FaultContext, at: number) => sleep(f.start_ms + at - Date.now());

export const SCENARIOS: Scenario[] = [
  {
    name: 'gateway-kill',
    summary: 'SIGKILL the gateway 10 times while the agents send; they buffer and resend',
    centrals: 1,
    async faults(f) {
      const kills = 10;
      let held = 0;
      for (let k = 1; k <= kills; k++) {
        await until(f, (f.generate_ms * k) / (kills + 1));
        await f.cluster.gateway!.kill();
        await sleep(300 + f.random() * 1_200);
        held = Math.max(held, f.buffered());
        await f.cluster.startGateway();
      }
      f.notes.push(`${kills} gateway SIGKILLs; agents held up to ${held} bins`);
      if (held === 0) f.problems.push('the agents never held bins while the gateway was down');
    },
  },
  {
    name: 'central-kill',
    summary: 'two central instances in one group; SIGKILL one mid-stream and restart it later',
    centrals: 2,
    async faults(f) {
      await until(f, f.generate_ms * 0.3);
      await f.cluster.centrals[1]!.kill();
      await until(f, f.generate_ms * 0.7);
      await f.cluster.startCentral(1);
      f.notes.push('central 1 killed at 30 %, back at 70 %');
    },
  },
  {
    name: 'scale-out',
    summary: 'a backlog on 6 partitions consumed by one central instance, then two, then three',
    centrals: 0,
    pace_factor: 0,
    minutes_factor: 9,
    agents_factor: 3,
    async faults(f) {
      // The agents put the whole workload into Kafka first. Then central instances join one by one, the next
      // once a third of the backlog is stored; each phase's rate runs from the moment its newest instance is
      // ready (process started, group joined) to the end of its third, so rebalance pauses count against it.
      // At full scale a third is 900,000 bins, about twenty seconds for one instance: at a third of that, half
      // of the second phase went by before the new instance was ready, and phases of a few seconds swung by
      // more than the difference they were to measure.
      if (!(await f.cluster.waitAgentsDrained(600_000))) throw new Error('the agents did not hand the backlog to Kafka within 10 minutes');
      const bins = f.cluster.accepted().size;
      // The consumer group's lag as the first instance starts (nothing committed yet): what an autoscaler on lag
      // sees (deploy/kubernetes/scaling.test.ts drives KEDA's rule with it).
      const lag = await recordsIn(f.cluster.kafka.brokers, kafkaTopics(f.cluster.layout.run_id).bins);
      f.notes.push(`backlog ${lag.reduce((a, b) => a + b, 0).toLocaleString('en-US')} records (by partition ${lag.join(' · ')}) for ${bins.toLocaleString('en-US')} bins`);
      const rates: string[] = [];
      for (let n = 1; n <= 3; n++) {
        await f.cluster.startCentral(n - 1);
        const t0 = performance.now();
        const s0 = await f.stored();
        const target = Math.round((bins * n) / 3);
        if (s0 >= target) {
          rates.push(`${n}: — (its third was stored before it was ready)`);
          continue;
        }
        let s = s0;
        const deadline = t0 + PHASE_LIMIT_MS;
        while (s < target && performance.now() < deadline) {
          await sleep(100);
          s = await f.stored();
        }
        const seconds = (performance.now() - t0) / 1000;
        if (s < target) {
          f.problems.push(`with ${n} instance${n === 1 ? '' : 's'}, ${(s - s0).toLocaleString('en-US')} bins stored in ${PHASE_LIMIT_MS / 60_000} minutes, short of its third`);
          break;
        }
        rates.push(`${n}: ${Math.round((s - s0) / seconds).toLocaleString('en-US')} (${(s - s0).toLocaleString('en-US')} bins in ${seconds.toFixed(1)} s)`);
      }
      f.notes.push(`bins/s with 1, 2, 3 instances ${rates.join(', ')}`);
    },
  },
  {
    name: 'kafka-outage',
    summary: 'stop the Kafka broker for two minutes under load, then restart it',
    centrals: 1,
    async faults(f) {
      const outage = 120_000;
      await until(f, f.generate_ms * 0.2);
      await f.cluster.kafka.stop();
      await sleep(outage);
      const held = f.buffered();
      await f.cluster.kafka.resume();
      f.notes.push(`Kafka down ${outage / 1000} s; agents held ${held} bins at its end`);
      if (held === 0) f.problems.push('the agents held no bins while Kafka was down');
    },
  },
  {
    name: 'postgres-outage',
    summary: "PostgreSQL's port refused to central under load (a minute at full scale)",
    centrals: 1,
    async faults(f) {
      const outage = f.scale === 'full' ? 60_000 : 15_000;
      await until(f, f.generate_ms * 0.2);
      f.cluster.pgProxy.set('refuse');
      await sleep(outage);
      f.cluster.pgProxy.set('pass');
      f.notes.push(`PostgreSQL refused ${outage / 1000} s`);
    },
  },
  {
    name: 'agent-crash',
    summary: 'SIGKILL agents at random points (writing, fsyncing, publishing) and restart them',
    centrals: 1,
    async faults(f) {
      const kills = f.scale === 'full' ? 50 : 12;
      const agents = f.cluster.layout.agents.length;
      for (let k = 0; k < kills; k++) {
        await until(f, (f.generate_ms * (k + f.random())) / kills);
        const i = Math.floor(f.random() * agents);
        await f.cluster.agents[i]!.kill();
        await sleep(100 + f.random() * 700);
        await f.cluster.startAgent(i, f.start_ms);
      }
      f.notes.push(`${kills} agent SIGKILLs`);
    },
  },
  {
    name: 'network',
    summary: 'agents reach the gateway through a fault proxy: latency, dropped connections, half-open sockets',
    centrals: 1,
    async faults(f) {
      const p = f.cluster.mqttProxy;
      await until(f, f.generate_ms * 0.1);
      p.set('pass', 200);
      await until(f, f.generate_ms * 0.3);
      p.set('pass', 0);
      for (let k = 0; k < 3; k++) {
        p.dropAll();
        await sleep(1_000);
      }
      await until(f, f.generate_ms * 0.5);
      const silent = f.scale === 'full' ? 20_000 : 10_000;
      p.set('blackhole');
      await sleep(silent);
      p.set('pass');
      f.notes.push(`200 ms latency, 3 connection drops, half-open for ${silent / 1000} s`);
    },
  },
  {
    name: 'clock-skew',
    summary: "one agent's clock jumps an hour forward, then half an hour back; its bins are flagged",
    centrals: 1,
    shape(layout) {
      const m = layout.minutes;
      layout.agents[0]!.skew = [
        { from: Math.floor(m * 0.3), to: Math.floor(m * 0.4), offset_ms: 3_600_000 },
        { from: Math.floor(m * 0.6), to: Math.floor(m * 0.65), offset_ms: -1_800_000 },
      ];
    },
    async faults(f) {
      f.notes.push(`agent 0: +1 h for 10 % of the run, −30 min for 5 %`);
    },
  },
];

export const seeded = (seed: number) => rng('chaos', seed);
