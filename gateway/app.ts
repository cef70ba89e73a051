/**
 * The gateway, composed without side effects.
 *
 *   agent ──MQTT──▶ aedes ─▶ authenticate (registry, scrypt) ─▶ authorizePublish (ACL ─▶ decode ─▶ log.send) ─▶ PUBACK
 *                                                                                  └─▶ wacoflow.dlq.v1 when undecodable
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { Aedes } from 'aedes';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { kafkaTopics, tryDecode } from '../protocol/index.ts';
import { DOWNLINK_HEADER } from './bridge/bridge.ts';
import type { Clock } from '../platform/clock.ts';
import type { Log, LogConsumer, LogProducer } from '../platform/log/log.ts';
import { Breaker } from '../platform/breaker.ts';
import type { Probe } from '../platform/probe.ts';
import { listen } from '../platform/net.ts';
import { authenticate } from './broker/authenticate.ts';
import { authorizePublish } from './broker/authorize-publish.ts';
import { authorizeSubscribe } from './broker/authorize-subscribe.ts';
import { Sessions } from './broker/session.ts';
import { GatewayConfigSchema, type GatewayConfig, type GatewayConfigInput } from './config.ts';
import { gatewayMetrics } from './metrics.ts';
import type { DeviceRegistry } from './registry/devices.ts';
import { OperatorOverrides } from './registry/overrides.ts';

export interface GatewayDeps {
  log: Log;
  registry: DeviceRegistry;
  clock: Clock;
  logger: Logger;
  metrics: Registry;
}

export interface Gateway {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** `mqtt://host:port` once started. */
  url(): string;
  /** `mqtts://host:port` when a TLS listener is configured. */
  tlsUrl(): string;
  /** Closes the connection of a device (disabled or rotated in the registry). Returns whether it was connected. */
  kick(device_id: string): boolean;
  /** Live: the listener is open (or draining); ready: it takes devices and Kafka takes their publishes. */
  probe(kind: 'live' | 'ready'): Probe;
}

/** Time for aedes to write the last PUBACKs before the clients' sockets are destroyed. */
const PUBACK_SETTLE_MS = 50;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function buildGateway(input: GatewayConfigInput, deps: GatewayDeps): Gateway {
  const config: GatewayConfig = GatewayConfigSchema.parse(input);
  const metrics = gatewayMetrics(deps.metrics);
  const sessions = new Sessions();
  let producer: LogProducer | null = null;
  let broker: Aedes | null = null;
  let server: Server | null = null;
  let tlsServer: Server | null = null;
  let address: { host: string; port: number } | null = null;
  let tlsAddress: { host: string; port: number } | null = null;
  let admin: LogConsumer | null = null;
  let following: Promise<void> = Promise.resolve();
  const inflight = { n: 0, draining: false };
  const breaker = new Breaker({ failure_threshold: config.log_breaker_threshold, open_ms: config.log_breaker_open_ms });
  const registry = new OperatorOverrides(deps.registry);
  const topics = kafkaTopics(config.topic_prefix);

  const kick = (device_id: string): boolean => {
    const client = (broker as unknown as { clients?: Record<string, { close(): void }> } | null)?.clients?.[device_id];
    if (!client) return false;
    client.close();
    return true;
  };

  /** Every operator command from the start of the compacted admin topic, then each new one as it comes. */
  const followOperators = async (): Promise<void> => {
    await deps.log.ensureTopics([{ name: topics.admin, partitions: 1, compact: true }]);
    admin = deps.log.consumer(`${topics.admin}.gateway-${randomUUID()}`);
    await admin.run({
      topics: [topics.admin],
      eachBatch: async (batch) => {
        for (const r of batch.records) {
          if (r.headers.type === DOWNLINK_HEADER) {
            // A config document or release announcement: retained on this broker, as if its operator had sent it here.
            broker?.publish({ cmd: 'publish', topic: r.key ?? '', payload: r.value, qos: 1, retain: true, dup: false }, (err) => {
              if (err) deps.logger.warn({ err, topic: r.key }, 'could not retain a downward message');
            });
            continue;
          }
          const d = tryDecode('device_command', r.value);
          if (!d.ok) {
            deps.logger.warn({ offset: r.offset, err: d.error.message }, 'ignoring an undecodable operator command');
            continue;
          }
          if (registry.apply(d.value) && kick(d.value.device_id)) deps.logger.warn({ device_id: d.value.device_id, by: d.value.by }, 'device disabled by an operator: disconnected');
        }
      },
    });
  };

  return {
    url: () => (address ? `mqtt://${address.host}:${address.port}` : ''),
    tlsUrl: () => (tlsAddress ? `mqtts://${tlsAddress.host}:${tlsAddress.port}` : ''),

    kick,

    async start() {
      inflight.draining = false;
      producer = await deps.log.producer();
      broker = await Aedes.createBroker({
        authenticate: authenticate(registry, sessions, metrics, { require_certificate_cn: config.tls?.require_client_cert ?? false }),
        authorizePublish: authorizePublish(() => producer, sessions, metrics, deps.clock, deps.logger, {
          max_inflight_per_client: config.max_inflight_per_client,
          max_inflight_total: config.max_inflight_total,
          max_messages_per_s_per_client: config.max_messages_per_s_per_client,
          breaker,
          inflight,
          topics,
        }),
        authorizeSubscribe: authorizeSubscribe(sessions, metrics),
      });
      // In the background: joining a consumer group takes seconds on Kafka, and a restarted gateway must take
      // publishes at once. Until the commands are replayed a disabled device could log in (it is disconnected
      // as soon as its command is applied), and boards get their retained config once it is replayed.
      following = followOperators().catch((err: unknown) => deps.logger.error({ err }, 'cannot follow operator commands; registry decisions only'));
      broker.on('clientReady', () => metrics.connected.set(broker?.connectedClients ?? 0));
      broker.on('clientDisconnect', () => metrics.connected.set(broker?.connectedClients ?? 0));
      broker.on('clientError', (client, err) => deps.logger.debug({ client_id: client.id, err: err.message }, 'mqtt client error'));
      const b = broker;
      // Nagle off: a PUBACK is a 4-byte packet written the moment Kafka confirms. With Nagle on, a PUBACK that
      // follows another not yet acknowledged at the TCP level waits for the device's next packet to carry that
      // ACK, so at 50 messages a second per device one PUBACK in a hundred was 20 ms late.
      const handle = (socket: Socket | TLSSocket): void => {
        socket.setNoDelay(true);
        b.handle(socket);
      };
      server = createServer(handle);
      address = await listen(server, config.mqtt_host, config.mqtt_port, 'mqtt_port');
      if (config.tls) {
        const t = config.tls;
        tlsServer = createTlsServer(
          { cert: t.cert, key: t.key, ...(t.ca ? { ca: t.ca } : {}), requestCert: t.require_client_cert, rejectUnauthorized: t.require_client_cert },
          handle,
        );
        tlsServer.on('tlsClientError', () => metrics.authFailures.inc({ reason: 'tls_handshake' }));
        tlsAddress = await listen(tlsServer, config.mqtt_host, t.port, 'tls.port');
      }
      deps.logger.info({ mqtt: `mqtt://${address.host}:${address.port}`, mqtts: tlsAddress ? `mqtts://${tlsAddress.host}:${tlsAddress.port}` : null, log: deps.log.kind }, 'gateway started');
    },

    probe(kind): Probe {
      const listener = inflight.draining ? 'draining' : server?.listening ? 'accepting' : 'not listening';
      if (kind === 'live') return { ok: listener !== 'not listening', checks: { listener } };
      const state = breaker.state(deps.clock.now());
      const kafka = producer === null ? 'not connected' : state === 'open' ? 'failing (breaker open: publishes refused)' : 'connected';
      return { ok: listener === 'accepting' && kafka === 'connected', checks: { listener, kafka } };
    },

    async stop() {
      // Drain: take no new connections or publishes, and let the publishes Kafka is already writing be
      // acknowledged, so a rolling restart costs devices a reconnect and no resends.
      inflight.draining = true;
      const closed = [server, tlsServer].map((s) => new Promise<void>((resolve) => (s ? s.close(() => resolve()) : resolve())));
      const deadline = Date.now() + config.drain_ms;
      while (inflight.n > 0 && Date.now() < deadline) await sleep(5);
      if (inflight.n > 0) deps.logger.warn({ inflight: inflight.n, drain_ms: config.drain_ms }, 'stopping with publishes Kafka has not confirmed; their devices will resend them');
      // aedes writes a PUBACK a few turns of the event loop after Kafka confirms; closing a client destroys its socket.
      await sleep(PUBACK_SETTLE_MS);
      // Closing the broker disconnects the clients, which lets the TCP servers finish closing.
      await new Promise<void>((resolve) => (broker ? broker.close(() => resolve()) : resolve()));
      await Promise.all(closed);
      await following;
      await admin?.stop();
      admin = null;
      await producer?.close();
      producer = null;
      deps.logger.info('gateway stopped');
    },
  };
}
