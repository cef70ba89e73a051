/**
 * The gateway for the memory benchmark: built as `wacoflow gateway` builds it (registry file, real Kafka), run
 * with --expose-gc so that every reading is taken after a full collection. The parent sends 'measure' over IPC
 * and gets back { rss, heap, external } in bytes; it sends the URL once the broker listens.
 */
import pino from 'pino';
import { Registry } from 'prom-client';
import { buildGateway } from '../gateway/app.ts';
import { FileDeviceRegistry } from '../gateway/registry/file-registry.ts';
import { systemClock } from '../platform/clock.ts';
import { KafkaLog } from '../platform/log/kafka-log.ts';
import { KAFKA_TOPICS } from '../protocol/index.ts';

const [registryFile, brokers] = process.argv.slice(2) as [string, string];
const log = new KafkaLog({ brokers: brokers.split(','), client_id: 'wacoflow-bench-gateway' });
await log.ensureTopics(Object.values(KAFKA_TOPICS).map((name) => ({ name, partitions: 3 })));
const gateway = buildGateway(
  { mqtt_host: '127.0.0.1', mqtt_port: 0 },
  { log, registry: new FileDeviceRegistry(registryFile), clock: systemClock, logger: pino({ level: 'silent' }), metrics: new Registry() },
);
await gateway.start();
const gc = (globalThis as { gc?: () => void }).gc!;
process.on('message', (m) => {
  if (m !== 'measure') return;
  gc();
  gc();
  const u = process.memoryUsage();
  process.send!({ rss: u.rss, heap: u.heapUsed, external: u.external });
});
process.on('disconnect', () => void gateway.stop().then(() => log.close()).finally(() => process.exit(0)));
process.send!({ url: gateway.url() });
