/**
 * The processes of one harness run: a Kafka broker of its own (so stopping it disturbs nothing else), the
 * machine's PostgreSQL behind a fault proxy, and per scenario a gateway, central instances and agents, each a
 * separate OS process started from `bin/wacoflow.js` (or, for agents, chaos/agent-process.ts).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { newStoredDevice, writeRegistryFile } from '../gateway/registry/file-registry.ts';
import { freePort } from '../test/ports.ts';
import { Proc } from '../platform/proc.ts';
import { readJournal, type AgentProcessConfig } from './journal.ts';
import { FaultProxy } from './proxy.ts';
import type { Bin } from '../protocol/index.ts';
import { inventoryOf, type Layout } from './workload.ts';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'wacoflow.js');
const TSX = join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The harness's own Kafka broker, run by scripts/services.sh in .services/chaos (jars shared with the main one). */
export class Kafka {
  readonly port: number;
  private readonly env: NodeJS.ProcessEnv;

  private constructor(port: number, env: NodeJS.ProcessEnv) {
    this.port = port;
    this.env = env;
  }

  static async start(): Promise<Kafka> {
    const dir = join(ROOT, '.services', 'chaos');
    const shared = join(ROOT, '.services', 'kafka-3.9.1', 'libs');
    mkdirSync(join(dir, 'kafka-3.9.1'), { recursive: true });
    if (existsSync(shared) && !existsSync(join(dir, 'kafka-3.9.1', 'libs'))) symlinkSync(shared, join(dir, 'kafka-3.9.1', 'libs'));
    const port = await freePort();
    const kafka = new Kafka(port, { ...process.env, WACOFLOW_SERVICES_DIR: dir, WACOFLOW_KAFKA_PORT: String(port), WACOFLOW_KAFKA_CONTROLLER_PORT: String(await freePort()) });
    await kafka.services('up', 'kafka');
    return kafka;
  }

  get brokers(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Stops the broker (an outage: its data stays on disk). */
  stop(): Promise<void> {
    return this.services('down');
  }

  /** Starts it again on the data it had. */
  resume(): Promise<void> {
    return this.services('up', 'kafka', true);
  }

  private async services(cmd: string, what?: string, keep = false): Promise<void> {
    const env = keep ? { ...this.env, WACOFLOW_KAFKA_KEEP_DATA: '1' } : this.env;
    await run('bash', [join(ROOT, 'scripts', 'services.sh'), cmd, ...(what ? [what] : [])], { env, timeout: 300_000 });
  }
}

/** Everything one scenario runs, and the verbs scenarios use on it. */
export class Cluster {
  gateway: Proc | null = null;
  centrals: (Proc | null)[] = [];
  agents: (Proc | null)[] = [];
  readonly layout: Layout;
  readonly dir: string;
  readonly schema: string;
  readonly kafka: Kafka;
  /** Between central and PostgreSQL. */
  readonly pgProxy: FaultProxy;
  /** Between the agents and the gateway. */
  readonly mqttProxy: FaultProxy;
  private readonly gatewayPort: number;
  private readonly database_url: string;
  private readonly pace_ms: number;
  private readonly secrets = new Map<string, string>();

  private constructor(c: Pick<Cluster, 'layout' | 'dir' | 'schema' | 'kafka' | 'pgProxy' | 'mqttProxy'> & { gatewayPort: number; database_url: string; pace_ms: number }) {
    this.layout = c.layout;
    this.dir = c.dir;
    this.schema = c.schema;
    this.kafka = c.kafka;
    this.pgProxy = c.pgProxy;
    this.mqttProxy = c.mqttProxy;
    this.gatewayPort = c.gatewayPort;
    this.database_url = c.database_url;
    this.pace_ms = c.pace_ms;
  }

  static async create(layout: Layout, dir: string, kafka: Kafka, database_url: string, pace_ms: number): Promise<Cluster> {
    mkdirSync(dir, { recursive: true });
    const schema = `chaos_${layout.run_id.replace(/[^a-z0-9]/g, '_')}`;
    await query(database_url, `CREATE SCHEMA ${schema}`);
    const db = new URL(database_url);
    const pgProxy = await new FaultProxy({ host: db.hostname, port: Number(db.port || 5432) }).listen();
    const gatewayPort = await freePort();
    const mqttProxy = await new FaultProxy({ host: '127.0.0.1', port: gatewayPort }).listen();
    const cluster = new Cluster({ layout, dir, schema, kafka, pgProxy, mqttProxy, gatewayPort, database_url, pace_ms });
    await cluster.writeConfigs();
    return cluster;
  }

  private async writeConfigs(): Promise<void> {
    const devices = [];
    for (const a of this.layout.agents) {
      const secret = `pw-${a.device_id}`;
      this.secrets.set(a.device_id, secret);
      devices.push(await newStoredDevice({ device_id: a.device_id, site: 'waco', secret }));
    }
    writeRegistryFile(join(this.dir, 'devices.json'), devices);
    const prefix = this.layout.run_id;
    writeFileSync(join(this.dir, 'gateway.yaml'), JSON.stringify({
      mqtt_host: '127.0.0.1', mqtt_port: this.gatewayPort, registry_file: join(this.dir, 'devices.json'), kafka_brokers: [this.kafka.brokers],
      topic_prefix: prefix, partitions: { bins: 6, health: 3, dlq: 1 }, max_messages_per_s_per_client: 1_000,
    }));
    writeFileSync(join(this.dir, 'inventory.yaml'), inventoryOf(this.layout));
    const db = new URL(this.database_url);
    db.port = String(this.pgProxy.port);
    db.hostname = '127.0.0.1';
    db.searchParams.set('options', `-c search_path=${this.schema}`);
    writeFileSync(join(this.dir, 'central.yaml'), JSON.stringify({
      kafka_brokers: [this.kafka.brokers], database_url: db.toString(), inventory_file: 'inventory.yaml', group_id: `${prefix}-central`,
      topic_prefix: prefix, http_port: 0, grace_ms: 10_000, finalize_interval_ms: 2_000,
    }));
  }

  async startGateway(): Promise<void> {
    this.gateway = await new Proc('gateway', [BIN, 'gateway', '--config', join(this.dir, 'gateway.yaml')], join(this.dir, 'gateway.log')).ready('gateway ready');
  }

  async startCentral(i: number): Promise<void> {
    this.centrals[i] = await new Proc(`central ${i}`, [BIN, 'central', '--config', join(this.dir, 'central.yaml')], join(this.dir, `central-${i}.log`)).ready('central ready', 120_000);
  }

  /** Starts agent `i` (again): it resumes from its outbox and cursor in its own folder. */
  async startAgent(i: number, start_ms: number): Promise<void> {
    const agent = this.layout.agents[i]!;
    const dir = join(this.dir, 'agents', agent.device_id);
    mkdirSync(dir, { recursive: true });
    const config: AgentProcessConfig = {
      layout: this.layout, agent: i, dir, mqtt_url: `mqtt://127.0.0.1:${this.mqttProxy.port}`, password: this.secrets.get(agent.device_id)!,
      start_ms, pace_ms: this.pace_ms,
    };
    this.agents[i] = await new Proc(agent.device_id, ['--import', TSX, join(import.meta.dirname, 'agent-process.ts')], join(dir, 'agent.log'), { ...process.env, CHAOS_AGENT: JSON.stringify(config) }).ready('STATUS');
  }

  agentStatus(i: number): { minute: number; depth: number; acknowledged: number; connected: boolean } | null {
    const line = this.agents[i]?.last('STATUS ');
    return line ? JSON.parse(line) : null;
  }

  /** Waits until every agent has generated its whole workload and its outbox is empty; false on timeout. */
  async waitAgentsDrained(timeout_ms: number): Promise<boolean> {
    const deadline = Date.now() + timeout_ms;
    for (;;) {
      const all = this.layout.agents.map((_, i) => this.agentStatus(i));
      if (all.every((s) => s !== null && s.minute >= this.layout.minutes && s.depth === 0)) return true;
      if (Date.now() > deadline) return false;
      await sleep(200);
    }
  }

  /** Every bin any agent accepted, once each (the journal may repeat a bin recovered after a crash). */
  accepted(): Map<string, Bin> {
    const out = new Map<string, Bin>();
    for (const a of this.layout.agents) readJournal(join(this.dir, 'agents', a.device_id), out);
    return out;
  }

  async query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    return query<T>(this.database_url, sql, params, this.schema);
  }

  /** The last lines of every process log of this scenario that says anything above info: for a failed row. */
  diagnostics(lines = 12): string {
    const logs = [join(this.dir, 'gateway.log'), ...this.centrals.map((_, i) => join(this.dir, `central-${i}.log`)), ...this.layout.agents.map((a) => join(this.dir, 'agents', a.device_id, 'agent.log'))];
    return logs
      .filter((f) => existsSync(f))
      .map((f) => {
        const notable = readFileSync(f, 'utf8').split('\n').filter((l) => l && !l.startsWith('STATUS') && !l.includes('"level":30'));
        return notable.length === 0 ? '' : `--- ${f} (last ${Math.min(lines, notable.length)} of ${notable.length} notable lines)\n${notable.slice(-lines).map((l) => l.slice(0, 400)).join('\n')}\n`;
      })
      .join('');
  }

  async close(keepSchema: boolean): Promise<void> {
    await Promise.all([this.gateway?.stop(), ...this.centrals.map((c) => c?.stop()), ...this.agents.map((a) => a?.stop())]);
    await Promise.all([this.pgProxy.close(), this.mqttProxy.close()]);
    if (!keepSchema) await query(this.database_url, `DROP SCHEMA ${this.schema} CASCADE`);
  }
}

async function query<T>(url: string, sql: string, params: unknown[] = [], schema?: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    if (schema) await client.query(`SET search_path = ${schema}`);
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

