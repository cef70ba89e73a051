/**
 * The gateway's composition root as its own process: the device registry file, real Kafka, the embedded MQTT
 * broker, optional /metrics. Loaded only when `wacoflow gateway` runs.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { buildGateway } from '../../gateway/app.ts';
import { buildExternalBridge } from '../../gateway/bridge/external.ts';
import { gatewayHttpHandler } from '../../gateway/http.ts';
import { gatewayMetrics } from '../../gateway/metrics.ts';
import { GatewayFileConfigSchema } from '../../gateway/file-config.ts';
import { FileDeviceRegistry } from '../../gateway/registry/file-registry.ts';
import { releasesHandler } from '../../gateway/releases.ts';
import { tuneGatewayHeap } from '../../gateway/heap.ts';
import { kafkaTopics } from '../../protocol/index.ts';
import { systemClock } from '../../platform/clock.ts';
import { KafkaLog } from '../../platform/log/kafka-log.ts';
import { ERR, WacoflowError } from '../../platform/errors.ts';
import { createLogger, type LogLevel } from '../../platform/logger.ts';
import { listen } from '../../platform/net.ts';
import { waitForService } from '../../platform/startup.ts';
import { loadConfigFile } from '../../platform/config-file.ts';
import type { Probe } from '../../platform/probe.ts';
import { accepting, systemdService } from '../../platform/sd-notify.ts';

export async function runGateway(file: string, logLevel: LogLevel): Promise<void> {
  tuneGatewayHeap();
  const config = loadConfigFile(file, GatewayFileConfigSchema);
  const logger = await createLogger(logLevel, process.stderr.isTTY ? 'pretty' : 'json');
  const registry = config.registry_file ? new FileDeviceRegistry(config.registry_file) : null;
  const log = new KafkaLog({
    brokers: config.kafka_brokers,
    client_id: 'wacoflow-gateway',
    onLog: (level, message, extra) => logger[level]({ component: 'kafka', ...extra }, message),
  });
  const topics = kafkaTopics(config.topic_prefix);
  await waitForService('Kafka', () => log.reachable(), { logger, limit_s: config.startup_wait_s, setting: `${file}: startup_wait_s` });
  await log.ensureTopics([
    { name: topics.bins, partitions: config.partitions.bins },
    { name: topics.health, partitions: config.partitions.health },
    { name: topics.dlq, partitions: config.partitions.dlq },
  ]);
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics, prefix: 'wacoflow_process_' });
  for (const n of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) metrics.removeSingleMetric(`wacoflow_process_${n}`);
  const pem = (field: string, path: string): string => {
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      throw new WacoflowError(ERR.CONFIG, `${file}: tls.${field}: cannot read ${path} (${(err as NodeJS.ErrnoException).code}); check the path and its permissions`);
    }
  };
  const tls = config.tls
    ? {
        port: config.tls.port, cert: pem('cert_file', config.tls.cert_file), key: pem('key_file', config.tls.key_file),
        ...(config.tls.ca_file ? { ca: pem('ca_file', config.tls.ca_file) } : {}), require_client_cert: config.tls.require_client_cert,
      }
    : undefined;
  let stopBroker: () => Promise<void>;
  let listening: (() => Promise<boolean>) | undefined; // the watchdog's check: the embedded broker takes connections
  let probe: (kind: 'live' | 'ready') => Probe;
  let watch: NodeJS.Timeout | null = null;
  let ready: () => void;
  if (config.external_broker) {
    const e = config.external_broker;
    const bridge = buildExternalBridge(
      { url: e.url, client_id: e.client_id, site: e.site, reconnect_ms: e.reconnect_ms, topic_prefix: config.topic_prefix, ...(e.username ? { username: e.username, password: e.password ?? '' } : {}) },
      { log, clock: systemClock, logger, metrics: gatewayMetrics(metrics) },
    );
    await bridge.start();
    stopBroker = () => bridge.stop();
    probe = (kind) => {
      const session = bridge.connected() ? 'connected' : 'reconnecting';
      return { ok: kind === 'live' || session === 'connected', checks: { external_broker: session } };
    };
    ready = () => logger.info({ external_broker: e.url, kafka: config.kafka_brokers }, 'gateway ready (external-broker mode)');
  } else {
    const devices = registry!;
    const limits = Object.fromEntries(
      (['max_inflight_per_client', 'max_inflight_total', 'max_messages_per_s_per_client', 'log_breaker_threshold', 'log_breaker_open_ms', 'drain_ms'] as const)
        .filter((k) => config[k] !== undefined)
        .map((k) => [k, config[k]]),
    );
    const gateway = buildGateway({ mqtt_host: config.mqtt_host, mqtt_port: config.mqtt_port, topic_prefix: config.topic_prefix, ...limits, ...(tls ? { tls } : {}) }, { log, registry: devices, clock: systemClock, logger, metrics });
    await gateway.start();
    stopBroker = () => gateway.stop();
    probe = (kind) => gateway.probe(kind);
    const port = Number(new URL(gateway.url()).port);
    listening = () => accepting(config.mqtt_host, port);
    ready = () => logger.info({ mqtt: gateway.url(), mqtts: gateway.tlsUrl() || null, devices: devices.size(), kafka: config.kafka_brokers }, 'gateway ready');
    watch = setInterval(() => {
      try {
        for (const device_id of devices.reload()) {
          if (gateway.kick(device_id)) logger.warn({ device_id }, 'device disabled or its secret rotated: disconnected');
        }
      } catch (err) {
        logger.error({ err }, 'could not re-read the device registry; keeping the previous one');
      }
    }, config.registry_check_ms);
  }

  let metricsServer: ReturnType<typeof createServer> | null = null;
  if (config.metrics_port !== null) {
    metricsServer = createServer(gatewayHttpHandler({ metrics, probe, ...(config.releases_dir ? { releases: releasesHandler(config.releases_dir) } : {}) }));
    const a = await listen(metricsServer, config.metrics_host, config.metrics_port, `${file}: metrics_port`);
    logger.info({ metrics: `http://${a.host}:${a.port}/metrics` }, 'metrics endpoint on');
  }
  // Ready once everything listens, the probes' endpoint included: whoever waits for this line may use any of it.
  ready();

  const systemd = systemdService(process.env, logger, listening);
  systemd.ready(config.external_broker ? 'bridging the external broker to Kafka' : 'broker listening, Kafka connected');
  let stopping = false;
  const shutdown = (): void => {
    if (stopping) process.exit(130);
    stopping = true;
    systemd.stopping();
    if (watch) clearInterval(watch);
    // The drain, then up to 10 s to close Kafka's producer.
    setTimeout(() => process.exit(1), (config.drain_ms ?? 5_000) + 10_000).unref();
    void stopBroker()
      .then(() => log.close())
      .then(() => {
        metricsServer?.close();
        process.exit(0);
      });
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}
