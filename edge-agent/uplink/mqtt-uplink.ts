/**
 * The uplink: mqtt.js over MQTT 3.1.1, clientId = device id, QoS 1, several bins per message, a bounded number
 * of messages in flight, a retained `online` status on connect and a retained `offline` last will. A batch
 * leaves the outbox only when its PUBACK arrives, which the gateway sends only once the log has the bins;
 * anything unacknowledged (error, disconnect, timeout) goes back to the outbox and is sent again, with the same
 * seq, so central can drop the duplicate.
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { encode, mqttTopic, type Bin, type BinBatch, type Heartbeat, type Status } from '../../protocol/index.ts';
import type { Clock } from '../../platform/clock.ts';
import { noDelay } from '../../platform/net.ts';
import type { Outbox } from '../outbox/outbox.ts';

export interface UplinkConfig {
  url: string;
  site: string;
  device_id: string;
  password: string;
  max_bins_per_message: number;
  max_inflight_messages: number;
  /** Real milliseconds to wait for a PUBACK before putting the batch back. */
  ack_timeout_ms: number;
  reconnect_ms: number;
  /** MQTT keepalive (default 30 s): a silent link is noticed within about 1.5 × this. */
  keepalive_s?: number;
  /** Bins whose end is within this much of now are live: they go first, never held back. */
  live_window_ms: number;
  /** The rate older (backlog) bins drain at after an outage; null for as fast as the link allows. */
  backlog_bins_per_s: number | null;
  /** TLS material for mqtts:// (PEM contents). */
  tls?: { ca?: string; cert?: string; key?: string };
  /** Downward topics to receive (QoS 1): configuration documents and release announcements. */
  subscriptions?: string[];
}

export interface UplinkDeps {
  outbox: Outbox;
  clock: Clock;
  logger: Logger;
  /** Drop counters to report with the next batch; returns them and forgets them. */
  takeDropped(): Record<string, number>;
  restoreDropped(dropped: Record<string, number>): void;
  /** A message on one of the subscribed topics (retained ones arrive again after every subscribe). */
  onMessage?(topic: string, payload: Buffer): void;
  /** Each (re)connection, after the online status went out. */
  onConnect?(): void;
}

export class MqttUplink {
  private readonly config: UplinkConfig;
  private readonly deps: UplinkDeps;
  private client: MqttClient | null = null;
  private inflight = 0;
  private stopping = false;
  private published = 0;
  private tokens = 0;
  private tokensAt = 0;
  private repump: (() => void) | null = null;

  constructor(config: UplinkConfig, deps: UplinkDeps) {
    this.config = config;
    this.deps = deps;
  }

  connected(): boolean {
    return this.client?.connected ?? false;
  }

  /** Bins acknowledged by the gateway since start. */
  acknowledged(): number {
    return this.published;
  }

  private status(state: Status['state']): Buffer {
    return encode({ v: 1, device_id: this.config.device_id, state, ts_ms: this.deps.clock.now() } satisfies Status);
  }

  start(): void {
    const c = this.config;
    const statusTopic = mqttTopic(c.site, c.device_id, 'status');
    const client = mqtt.connect(c.url, {
      protocolVersion: 4,
      clientId: c.device_id,
      username: c.device_id,
      password: c.password,
      // A persistent session: the broker keeps this device's subscriptions (its config topic) across reconnects.
      clean: false,
      ...(c.tls ?? {}),
      reconnectPeriod: c.reconnect_ms,
      keepalive: c.keepalive_s ?? 30,
      connectTimeout: 10_000,
      will: { topic: statusTopic, payload: this.status('offline'), qos: 1, retain: true },
      // mqtt-packet would otherwise pre-build a 2-byte Buffer for each of the 65,536 packet ids: 6.6 MB of heap
      // to save one small allocation per publish, a poor trade at a board's few messages a minute.
      writeCache: false,
    });
    this.client = client;
    client.on('connect', () => {
      noDelay(client);
      this.deps.logger.info({ broker: c.url }, 'uplink connected');
      client.publish(statusTopic, this.status('online'), { qos: 1, retain: true });
      // Subscribed on every connect: the broker then sends each topic's retained message again, so a board
      // that missed a document while offline (or whose gateway restarted) gets the latest.
      const subscriptions = c.subscriptions ?? [];
      if (subscriptions.length > 0) {
        client.subscribe(subscriptions, { qos: 1 }, (err, granted) => {
          const refused = (granted ?? []).filter((g) => g.qos === 128).map((g) => g.topic);
          if (err || refused.length > 0) this.deps.logger.warn({ err: err?.message, refused }, 'gateway refused a subscription; remote configuration and updates will not reach this board');
        });
      }
      this.pump();
      this.deps.onConnect?.();
    });
    client.on('message', (topic, payload) => this.deps.onMessage?.(topic, payload));
    client.on('close', () => {
      if (!this.stopping) this.deps.logger.debug('uplink disconnected; bins stay in the outbox');
    });
    client.on('error', (err) => this.deps.logger.warn({ err: err.message }, 'uplink error'));
  }

  /** Backlog tokens available now (a bucket of one message, refilled at backlog_bins_per_s of clock time). */
  private backlogAllowance(): number {
    const rate = this.config.backlog_bins_per_s;
    if (rate === null) return Infinity;
    const now = this.deps.clock.now();
    this.tokens = Math.min(this.config.max_bins_per_message, this.tokens + ((now - this.tokensAt) * rate) / 1000);
    this.tokensAt = now;
    return Math.floor(this.tokens);
  }

  /**
   * Sends what the outbox holds, up to the in-flight limit: live bins first and at once, then the backlog at
   * backlog_bins_per_s. Call after appending.
   */
  pump(): void {
    const client = this.client;
    while (client?.connected && !this.stopping && this.inflight < this.config.max_inflight_messages) {
      const liveFrom = this.deps.clock.now() - this.config.live_window_ms;
      let bins = this.deps.outbox.take(this.config.max_bins_per_message, (b) => b.bin_start_ms + b.bin_ms >= liveFrom);
      if (bins.length === 0) {
        const allowed = Math.min(this.config.max_bins_per_message, this.backlogAllowance());
        if (allowed < 1) {
          this.scheduleRepump();
          return;
        }
        bins = this.deps.outbox.take(allowed);
        this.tokens -= bins.length;
      }
      if (bins.length === 0) return;
      this.inflight++;
      void this.send(client, bins).finally(() => {
        this.inflight--;
        this.pump();
      });
    }
  }

  /** Comes back when the next backlog token is due (the outbox may hold a backlog that nothing else wakes). */
  private scheduleRepump(): void {
    if (this.repump || this.config.backlog_bins_per_s === null) return;
    this.repump = this.deps.clock.after(Math.ceil(1000 / this.config.backlog_bins_per_s), () => {
      this.repump = null;
      this.pump();
    });
  }

  private async send(client: MqttClient, bins: Bin[]): Promise<void> {
    const dropped = this.deps.takeDropped();
    const batch: BinBatch = { v: 1, device_id: this.config.device_id, sent_ms: this.deps.clock.now(), bins };
    if (Object.keys(dropped).length > 0) batch.dropped = dropped;
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    try {
      await Promise.race([
        client.publishAsync(mqttTopic(this.config.site, this.config.device_id, 'bins'), encode(batch), { qos: 1 }),
        new Promise((_, reject) => {
          timer = setTimeout(() => {
            timedOut = true;
            reject(new Error(`no PUBACK within ${this.config.ack_timeout_ms} ms`));
          }, this.config.ack_timeout_ms);
          timer.unref();
        }),
      ]);
      await this.deps.outbox.accept(bins);
      this.published += bins.length;
    } catch (err) {
      this.deps.outbox.reject(bins);
      // No PUBACK in time: the gateway is slow, or the link is half-open (a NAT or radio dropped the flow and no
      // reset ever came), where waiting for the keepalive would stall the outbox. A reconnect costs a handshake
      // and settles it; what was unacknowledged is sent again, under the same seqs.
      if (timedOut && client.connected) {
        this.deps.logger.warn({ ack_timeout_ms: this.config.ack_timeout_ms }, 'no PUBACK in time; reconnecting');
        client.stream.destroy();
      }
      // After a timeout mqtt.js still holds the message and may deliver it, drop counters and all: restoring the
      // counters then would report them twice. Only a publish that failed outright gives them back.
      if (!timedOut) this.deps.restoreDropped(dropped);
      this.deps.logger.debug({ err: (err as Error).message, bins: bins.length }, 'batch not acknowledged; kept for retry');
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Resolves once the gateway acknowledged the heartbeat; rejects when it did not, or the link is down. Heartbeats
   * are a snapshot, so the periodic ones ignore that (the next replaces a missed one); reports that must be
   * seen wait for it.
   */
  publishHeartbeat(hb: Heartbeat): Promise<void> {
    if (!this.client?.connected) return Promise.reject(new Error('uplink not connected'));
    return this.client.publishAsync(mqttTopic(this.config.site, this.config.device_id, 'health'), encode(hb), { qos: 1 }).then(() => undefined);
  }

  /** Graceful stop: retained `offline` (a clean DISCONNECT does not fire the will), then disconnect. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.repump?.();
    this.repump = null;
    const client = this.client;
    if (!client) return;
    if (client.connected) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        client.publishAsync(mqttTopic(this.config.site, this.config.device_id, 'status'), this.status('offline'), { qos: 1, retain: true }).catch(() => {}),
        new Promise((r) => (timer = setTimeout(r, 2_000))),
      ]);
      clearTimeout(timer);
    }
    await client.endAsync(true).catch(() => {});
  }
}
