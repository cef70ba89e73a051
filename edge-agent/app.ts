/**
 * The edge agent, composed without side effects.
 *
 *   inputs (RunningInput ▸ driver.read) ─▶ Binner (epoch-aligned bins) ─▶ Outbox (seq) ─▶ MqttUplink ─▶ gateway
 *   heartbeat every heartbeat_interval_ms ─────────────────────────────────────────────▶ .../health
 */
import type { Logger } from 'pino';
import type { ClockState, ConfigReport, Heartbeat, UpdateReport } from '../protocol/index.ts';
import type { Cancel, Clock } from '../platform/clock.ts';
import { Binner, type BinDraft } from './aggregate/binner.ts';
import { Sealer } from './aggregate/sealer.ts';
import type { AgentConfig } from './config.ts';
import { MemoryDeadLetters, type DeadLetterStore } from './health/dead-letters.ts';
import type { SystemProbe } from './health/system-probe.ts';
import { createInput } from './inputs/registry.ts';
import { RunningInput } from './inputs/running-input.ts';
import type { Outbox } from './outbox/outbox.ts';
import { MqttUplink } from './uplink/mqtt-uplink.ts';

/** At 64 detectors and 60 s bins, a day of bins; beyond that the oldest unsaved bins are dropped, counted. */
const MAX_UNSAVED = 100_000;

export interface AgentDeps {
  clock: Clock;
  logger: Logger;
  outbox: Outbox;
  probe: SystemProbe;
  /** Whether the board's clock is synchronised, and the offset it believes it has. */
  clockState(): ClockState;
  version: string;
  config_hash: string;
  /** Where unparseable payloads are kept; in memory when not given. */
  deadLetters?: DeadLetterStore;
  /** TLS material (PEM) for an mqtts:// gateway. */
  tls?: { ca?: string; cert?: string; key?: string };
  /** Downward topics (configuration, releases) and what receives their messages. */
  downlink?: { topics: string[]; onMessage(topic: string, payload: Buffer): void };
  /** What the board reports about its remote configuration and updates, read for every heartbeat. */
  reports?: () => { config?: ConfigReport; update?: UpdateReport };
  /** The work in progress of the agent this one replaces in the same process (`handOver`). */
  carry?: AgentState;
}

/**
 * An agent's work in progress, handed to the agent that replaces it on a new configuration: the bins still
 * open, the sealed bins the outbox has not taken yet, and where each input's samples got to. Without it, the
 * samples of the open bins would be lost for inputs that cannot read them again (serial sensors answer with
 * their latest interval only).
 */
export interface AgentState {
  binner: Binner;
  unsaved: BinDraft[];
  /** Per input name, each detector's first sample start not yet taken. */
  marks: Map<string, Map<string, number>>;
}

export interface Agent {
  start(): void;
  /**
   * Stops inputs, seals what is due, disconnects. The outbox is closed unless `keep_outbox` (another agent is
   * about to run on it: a configuration was applied).
   */
  stop(options?: { keep_outbox?: boolean }): Promise<void>;
  /** Sends a heartbeat now (after a configuration or update decision); resolves once the gateway has it. */
  heartbeatNow(): Promise<void>;
  /** After `stop({ keep_outbox: true })`: the work in progress, for the agent that takes over. */
  handOver(): AgentState;
  /** Seals due bins into the outbox and sends; runs on a timer, exposed for tests. */
  flush(): Promise<void>;
  heartbeat(): Promise<Heartbeat>;
  connected(): boolean;
  acknowledged(): number;
  /** Everything dropped since start, by reason: sentinels and bad values, and what the outbox dropped. */
  dropped(): Record<string, number>;
}

export function buildAgent(config: AgentConfig, deps: AgentDeps): Agent {
  const { clock, outbox } = deps;
  const logger = deps.logger.child({ device_id: config.device_id });
  const started_ms = clock.now();
  // Open bins carry over only to an agent that bins the same way; otherwise the new one starts afresh.
  const carried = deps.carry && deps.carry.binner.bin_ms === config.bin_ms && deps.carry.binner.close_delay_ms === config.close_delay_ms ? deps.carry : null;
  const binner = carried?.binner ?? new Binner(config.bin_ms, config.close_delay_ms);
  let dropped: Record<string, number> = {};
  const droppedTotals: Record<string, number> = {};
  const addDropped = (d: Record<string, number>, count = true): void => {
    for (const [k, n] of Object.entries(d)) {
      dropped[k] = (dropped[k] ?? 0) + n;
      if (count) droppedTotals[k] = (droppedTotals[k] ?? 0) + n;
    }
  };
  const uplink = new MqttUplink(
    {
      url: config.mqtt_url, site: config.site, device_id: config.device_id, password: config.mqtt_password,
      max_bins_per_message: config.max_bins_per_message, max_inflight_messages: config.max_inflight_messages,
      ack_timeout_ms: config.ack_timeout_ms, reconnect_ms: config.reconnect_ms, keepalive_s: config.keepalive_s,
      live_window_ms: config.live_window_ms, backlog_bins_per_s: config.backlog_bins_per_s,
      ...(deps.tls ? { tls: deps.tls } : {}),
      ...(deps.downlink ? { subscriptions: deps.downlink.topics } : {}),
    },
    {
      outbox, clock, logger,
      ...(deps.downlink ? { onMessage: deps.downlink.onMessage } : {}),
      // A heartbeat as soon as the link is up: the fleet sees a board's version and configuration at once, not a
      // heartbeat interval later.
      onConnect: () => void sendHeartbeat(),
      takeDropped: () => {
        const d = dropped;
        dropped = {};
        return d;
      },
      restoreDropped: (d) => addDropped(d, false),
    },
  );
  const deadLetters = deps.deadLetters ?? new MemoryDeadLetters();
  const inputs = config.inputs.map(
    (c) =>
      new RunningInput(
        createInput(c),
        {
          clock, logger, onDropped: addDropped, deadLetters,
          onSamples: (samples, input) => binner.add(samples, input.sample_interval_ms),
          onDetectors: (detectors, input) => binner.register(detectors, input.sample_interval_ms, clock.now()),
        },
        {
          timeout_ms: config.input_timeout_ms, backoff_initial_ms: 1_000, backoff_max_ms: 60_000, failed_after: 5,
          breaker_threshold: config.breaker_failure_threshold, breaker_open_ms: config.breaker_open_ms,
          max_sample_age_ms: config.max_sample_age_ms, max_sample_future_ms: config.max_sample_future_ms,
        },
      ),
  );
  // After a restart, skip what the outbox already holds bins for; after a new configuration, also what the
  // open bins handed over already hold.
  for (const i of inputs) {
    i.resume(outbox.marks());
    const taken = carried?.marks.get(i.input.name);
    if (taken) i.resume(taken);
  }
  const timers: Cancel[] = [];
  let outboxFailing = false;
  const sealer = new Sealer(
    {
      binner,
      outbox,
      stamp: () => ({ device_id: config.device_id, clock: deps.clockState() }),
      onDropped: addDropped,
      onOutboxError: (err) => {
        if (err && !outboxFailing) logger.error({ err }, 'outbox refused bins; keeping them in memory and retrying');
        if (!err) logger.info('outbox writable again');
        outboxFailing = err !== null;
      },
    },
    MAX_UNSAVED,
  );
  if (deps.carry) sealer.restoreUnsaved(deps.carry.unsaved);
  const flush = async (): Promise<void> => {
    await sealer.flush(clock.now());
    uplink.pump();
  };

  const heartbeat = async (): Promise<Heartbeat> => {
    const now = clock.now();
    const stats = outbox.stats(now);
    return {
      v: 1,
      device_id: config.device_id,
      ts_ms: now,
      uptime_s: (now - started_ms) / 1000,
      version: deps.version,
      config_hash: deps.config_hash,
      cpu_pct: deps.probe.cpu_pct(),
      mem_rss_bytes: deps.probe.mem_rss_bytes(),
      temperature_c: await deps.probe.temperature_c(),
      disk_free_bytes: await deps.probe.disk_free_bytes(),
      outbox: { depth: stats.depth + sealer.pending(), bytes: stats.bytes, oldest_age_ms: stats.oldest_age_ms, last_error: sealer.error() },
      inputs: inputs.map((i) => i.snapshot()),
      clock: deps.clockState(),
      dead_letters_total: deadLetters.total(),
      ...deps.reports?.(),
    };
  };

  /** A periodic heartbeat: one that does not get through is replaced by the next. */
  const sendHeartbeat = (): Promise<void> =>
    heartbeat().then(
      (hb) => uplink.publishHeartbeat(hb).catch(() => {}),
      (err: unknown) => logger.warn({ err }, 'heartbeat failed'),
    );

  return {
    flush,
    heartbeat,
    connected: () => uplink.connected(),
    acknowledged: () => uplink.acknowledged(),
    dropped: () => {
      const all = { ...droppedTotals };
      for (const [k, n] of Object.entries(outbox.dropped())) all[k] = (all[k] ?? 0) + n;
      return all;
    },

    start() {
      uplink.start();
      for (const i of inputs) i.start();
      // Seal often enough that a bin leaves within a few seconds of close_delay_ms.
      timers.push(clock.every(Math.min(5_000, config.bin_ms / 4), () => void flush()));
      timers.push(clock.every(config.heartbeat_interval_ms, () => void sendHeartbeat()));
      logger.info({ inputs: inputs.map((i) => i.input.name), bin_ms: config.bin_ms }, 'agent started');
    },

    heartbeatNow: async () => uplink.publishHeartbeat(await heartbeat()),

    handOver: () => ({ binner, unsaved: sealer.takeUnsaved(), marks: new Map(inputs.map((i) => [i.input.name, i.marks()])) }),

    async stop(options = {}) {
      for (const cancel of timers) cancel();
      for (const i of inputs) i.stop();
      await sealer.idle();
      await uplink.stop();
      if (!options.keep_outbox) await outbox.close();
      logger.info({ outbox_depth: outbox.stats(clock.now()).depth }, 'agent stopped');
    },
  };
}
