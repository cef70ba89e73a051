/**
 * Central's composition root as its own process: the inventory file, real Kafka, real PostgreSQL, the HTTP API
 * with /metrics. Loaded only when `wacoflow central` runs.
 */
import { dirname, resolve } from 'node:path';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { buildCentral } from '../../central/app.ts';
import { CentralConfigSchema } from '../../central/config.ts';
import { CentralFileConfigSchema } from '../../central/file-config.ts';
import { loadInventory } from '../../central/inventory.ts';
import { openPostgres } from '../../central/store/pg-driver.ts';
import { Store } from '../../central/store/store.ts';
import { systemClock } from '../../platform/clock.ts';
import { loadConfigFile } from '../../platform/config-file.ts';
import { KafkaLog } from '../../platform/log/kafka-log.ts';
import { createLogger, type LogLevel } from '../../platform/logger.ts';
import { waitForService } from '../../platform/startup.ts';
import { answering, systemdService } from '../../platform/sd-notify.ts';
import { VERSION } from '../run.ts';

export async function runCentral(file: string, logLevel: LogLevel): Promise<void> {
  const { kafka_brokers, database_url, inventory_file, startup_wait_s, ...settings } = loadConfigFile(file, CentralFileConfigSchema);
  const inventory = loadInventory(resolve(dirname(file), inventory_file));
  const logger = await createLogger(logLevel, process.stderr.isTTY ? 'pretty' : 'json');
  const log = new KafkaLog({
    brokers: kafka_brokers,
    client_id: 'wacoflow-central',
    onLog: (level, message, extra) => logger[level]({ component: 'kafka', ...extra }, message),
  });
  const wait = { logger, limit_s: startup_wait_s, setting: `${file}: startup_wait_s` };
  const store = new Store(await waitForService('PostgreSQL', () => openPostgres(database_url), wait));
  await waitForService('Kafka', () => log.reachable(), wait);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'wacoflow_process_' });
  const central = buildCentral(CentralConfigSchema.parse(settings), {
    log, store, clock: systemClock, logger, registry, stations: inventory.stations, detectors: inventory.detectors, version: VERSION,
  });
  await central.start();
  const http = central.address();
  logger.info({ http: http ? `http://${http.host}:${http.port}` : null, stations: inventory.stations.length, detectors: inventory.detectors.length, kafka: kafka_brokers }, 'central ready');

  // The watchdog asks what an orchestrator's liveness probe asks: does the consume loop turn? A store that is
  // down does not count (a restart would not bring it back).
  const systemd = systemdService(process.env, logger, http ? () => answering(http.host, http.port, '/livez') : undefined);
  systemd.ready(`consuming; API on ${http ? `${http.host}:${http.port}` : 'none'}`);
  let stopping = false;
  const shutdown = (): void => {
    if (stopping) process.exit(130);
    stopping = true;
    systemd.stopping();
    setTimeout(() => process.exit(1), 15_000).unref();
    void central
      .stop()
      .then(() => log.close())
      .then(() => store.close())
      .then(() => process.exit(0));
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}
