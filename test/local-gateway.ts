/** A gateway on an ephemeral port over the in-process log, with the given devices registered. For tests and benchmarks. */
import pino from 'pino';
import { Registry } from 'prom-client';
import { buildGateway, type Gateway } from '../gateway/app.ts';
import { hashSecret, MemoryDeviceRegistry } from '../gateway/registry/devices.ts';
import { KAFKA_TOPICS } from '../protocol/index.ts';
import { systemClock, type Clock } from '../platform/clock.ts';
import { MemoryLog } from '../platform/log/memory-log.ts';

export interface LocalGateway {
  gateway: Gateway;
  log: MemoryLog;
  registry: MemoryDeviceRegistry;
  /** Starts another gateway on the same log and registry (after the first was stopped: an outage ends). */
  restart(port: number): Promise<Gateway>;
}

export async function localGateway(devices: { device_id: string; secret: string; site?: string }[], clock: Clock = systemClock, partitions = 1): Promise<LocalGateway> {
  const log = new MemoryLog();
  await log.ensureTopics(Object.values(KAFKA_TOPICS).map((name) => ({ name, partitions })));
  const registry = new MemoryDeviceRegistry();
  for (const d of devices) registry.add({ device_id: d.device_id, site: d.site ?? 'waco', enabled: true, secret_hash: await hashSecret(d.secret) });
  const start = async (port: number): Promise<Gateway> => {
    const g = buildGateway({ mqtt_host: '127.0.0.1', mqtt_port: port }, { log, registry, clock, logger: pino({ level: 'silent' }), metrics: new Registry() });
    await g.start();
    return g;
  };
  return { gateway: await start(0), log, registry, restart: start };
}
