/**
 * The agent's local Prometheus metrics (served only when metrics_port is set). Read from the heartbeat at
 * scrape time, so drivers, the outbox and the uplink stay free of metric code.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { Heartbeat } from '../protocol/index.ts';
import { shared } from '../platform/shared.ts';

export function agentRegistry(snapshot: () => Promise<{ heartbeat: Heartbeat; acknowledged: number; connected: boolean; dropped: Record<string, number> }>): Registry {
  const registry = new Registry();
  const registers = [registry];
  // prom-client collects every metric at once: they share one snapshot per scrape (anything within 500 ms).
  const get = shared(snapshot, 500);
  new Gauge({
    name: 'wacoflow_agent_outbox_bins', help: 'Bins waiting for the gateway to confirm them.', registers,
    async collect() {
      this.set((await get()).heartbeat.outbox.depth);
    },
  });
  new Gauge({ name: 'wacoflow_agent_outbox_bytes', help: 'Bytes of the bins waiting in the outbox.', registers, async collect() { const current = await get(); this.set(current.heartbeat.outbox.bytes ?? 0); } });
  new Gauge({
    name: 'wacoflow_agent_outbox_oldest_age_seconds', help: 'Age of the oldest waiting data (0 when empty).', registers,
    async collect() { const current = await get(); this.set((current.heartbeat.outbox.oldest_age_ms ?? 0) / 1000); },
  });
  new Gauge({ name: 'wacoflow_agent_uplink_connected', help: '1 while connected to the gateway.', registers, async collect() { const current = await get(); this.set(current.connected ? 1 : 0); } });
  new Counter({
    name: 'wacoflow_agent_bins_acknowledged_total', help: 'Bins the gateway confirmed since start.', registers,
    async collect() { const current = await get(); this.reset(); this.inc(current.acknowledged ?? 0); },
  });
  new Counter({
    name: 'wacoflow_agent_input_samples_total', help: 'Samples read, by input.', labelNames: ['input'] as const, registers,
    async collect() {
      const current = await get();
      this.reset();
      for (const i of current.heartbeat.inputs ?? []) this.inc({ input: i.name }, i.samples_total);
    },
  });
  new Gauge({
    name: 'wacoflow_agent_input_up', help: '1 when the input read successfully last time, by input.', labelNames: ['input'] as const, registers,
    async collect() {
      const current = await get();
      this.reset();
      for (const i of current.heartbeat.inputs ?? []) this.set({ input: i.name }, i.state === 'ok' ? 1 : 0);
    },
  });
  new Counter({
    name: 'wacoflow_agent_input_breaker_transitions_total', help: 'Circuit-breaker transitions, by input and the state entered (open, half_open, closed).', labelNames: ['input', 'to'] as const, registers,
    async collect() {
      const current = await get();
      this.reset();
      for (const i of current.heartbeat.inputs ?? []) {
        for (const [to, n] of Object.entries(i.breaker_transitions ?? {})) this.inc({ input: i.name, to }, n);
      }
    },
  });
  new Counter({
    name: 'wacoflow_agent_dropped_total', help: 'Values and bins dropped, by reason (sentinels, outbox full, too old).', labelNames: ['reason'] as const, registers,
    async collect() {
      const current = await get();
      this.reset();
      for (const [reason, n] of Object.entries(current.dropped ?? {})) this.inc({ reason }, n);
    },
  });
  new Gauge({
    name: 'wacoflow_agent_outbox_writable', help: '0 while the outbox refuses bins (disk full, I/O error).', registers,
    async collect() { const current = await get(); this.set(current.heartbeat.outbox.last_error ? 0 : 1); },
  });
  return registry;
}
