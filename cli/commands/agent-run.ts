/**
 * The edge agent's composition root on a board (`wacoflow agent --config FILE`) and the technician's check
 * (`wacoflow agent check`). Loaded only when one of those runs, so the agent process never loads central's
 * or the simulator's modules.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { buildAgent, type Agent, type AgentState } from '../../edge-agent/app.ts';
import { AgentConfigSchema, AgentFileConfigSchema, type AgentConfig, type AgentFileConfig } from '../../edge-agent/config.ts';
import { RemoteConfig, remoteConfigFile } from '../../edge-agent/remote/remote-config.ts';
import { installOf } from '../../edge-agent/update/install-state.ts';
import { publicKeyFromPem } from '../../edge-agent/update/signature.ts';
import { Updater } from '../../edge-agent/update/updater.ts';
import { Arch, MQTT_RELEASE_TOPIC, mqttConfigTopics } from '../../protocol/index.ts';
import { fileClockSync } from '../../edge-agent/health/clock-sync.ts';
import { FileDeadLetters } from '../../edge-agent/health/dead-letters.ts';
import { linuxProbe } from '../../edge-agent/health/system-probe.ts';
import { createInput } from '../../edge-agent/inputs/registry.ts';
import { DEFAULT_OUTBOX, FileOutbox } from '../../edge-agent/outbox/file-outbox.ts';
import { systemClock } from '../../platform/clock.ts';
import { ERR, WacoflowError } from '../../platform/errors.ts';
import { createLogger, type LogLevel } from '../../platform/logger.ts';
import { listen } from '../../platform/net.ts';
import { loadConfigFile, loadConfigFileAndSource } from '../../platform/config-file.ts';
import { systemdService } from '../../platform/sd-notify.ts';
import { VERSION } from '../run.ts';

function password(c: AgentFileConfig, file: string): string {
  if (c.mqtt_password) return c.mqtt_password;
  try {
    return readFileSync(c.mqtt_password_file!, 'utf8').trim();
  } catch (err) {
    throw new WacoflowError(ERR.CONFIG, `${file}: mqtt_password_file: cannot read ${c.mqtt_password_file} (${(err as NodeJS.ErrnoException).code}); check the path and its permissions`);
  }
}

function readPem(file: string, field: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new WacoflowError(ERR.CONFIG, `${file}: ${field}: cannot read ${path} (${(err as NodeJS.ErrnoException).code}); check the path and its permissions`);
  }
}

function tlsOf(c: AgentFileConfig, file: string): { ca?: string; cert?: string; key?: string } | undefined {
  if (!c.mqtt_tls) return undefined;
  return {
    ...(c.mqtt_tls.ca_file ? { ca: readPem(file, 'mqtt_tls.ca_file', c.mqtt_tls.ca_file) } : {}),
    ...(c.mqtt_tls.cert_file ? { cert: readPem(file, 'mqtt_tls.cert_file', c.mqtt_tls.cert_file) } : {}),
    ...(c.mqtt_tls.key_file ? { key: readPem(file, 'mqtt_tls.key_file', c.mqtt_tls.key_file) } : {}),
  };
}

export async function run(file: string, logLevel: LogLevel): Promise<void> {
  const { config: fileConfig, source } = loadConfigFileAndSource(file, AgentFileConfigSchema);
  const logger = await createLogger(logLevel, process.stderr.isTTY ? 'pretty' : 'json');
  const remote = new RemoteConfig({ base: source, site: fileConfig.site, device_id: fileConfig.device_id, state_file: remoteConfigFile(fileConfig.data_dir), now: () => systemClock.now() });
  const config = remote.initial;
  const outbox = await FileOutbox.open({ ...DEFAULT_OUTBOX, ...config.outbox, dir: join(config.data_dir, 'outbox') }, () => systemClock.now());
  if (outbox.counters.recovered > 0 || outbox.counters.corrupt_bytes > 0 || outbox.counters.torn_tail_bytes > 0) {
    logger.info({ recovered_bins: outbox.counters.recovered, corrupt_bytes: outbox.counters.corrupt_bytes, torn_tail_bytes: outbox.counters.torn_tail_bytes }, 'outbox recovered');
  }
  const secret = password(config, file);
  // The agent inside the process takes its own settings; the file's others (outbox, TLS files, …) are the process's.
  const agentConfigOf = (c: AgentFileConfig): AgentConfig =>
    AgentConfigSchema.parse({ ...Object.fromEntries(Object.entries(c).filter(([k]) => k in AgentConfigSchema.shape)), mqtt_password: secret });

  let stopping = false;
  let agent: Agent;
  const updater = new Updater(
    {
      // Updates need an A/B install and a known architecture; anywhere else they are off (and the report says so).
      install: Arch.safeParse(process.arch).success ? installOf(process.argv[1] ?? '') : null, running_version: VERSION, arch: process.arch as Arch, device_id: config.device_id, site: config.site,
      public_key: config.update.public_key_file ? publicKeyFromPem(readPem(file, 'update.public_key_file', config.update.public_key_file), `${file}: update.public_key_file`) : null,
      health_timeout_ms: config.update.health_timeout_ms, download_timeout_ms: config.update.download_timeout_ms,
    },
    { logger, now: () => systemClock.now(), onReport: () => void agent?.heartbeatNow().catch(() => {}), onSwitched: () => shutdown('update') },
  );
  const topics = mqttConfigTopics(config.site, config.device_id);
  const scopeOf = new Map<string, 'fleet' | 'site' | 'device'>([[topics.fleet, 'fleet'], [topics.site, 'site'], [topics.device, 'device']]);
  // Documents are applied one after another: each stops the running agent (its outbox stays open and untouched)
  // and starts one on the new configuration that takes over its open bins, without leaving the process.
  let applying = Promise.resolve();
  const onMessage = (topic: string, payload: Buffer): void => {
    if (topic === MQTT_RELEASE_TOPIC) return updater.offer(payload);
    const scope = scopeOf.get(topic);
    if (!scope) return;
    applying = applying.then(async () => {
      const decision = remote.receive(scope, payload);
      if (decision.kind === 'same' || stopping) return;
      if (decision.kind === 'refuse') {
        logger.warn({ scope, reason: decision.reason }, 'configuration document refused; keeping the running configuration');
      } else {
        logger.info({ scope, applied_hash: decision.hash }, 'applying a configuration document');
        await agent.stop({ keep_outbox: true });
        agent = build(agentConfigOf(decision.config), agent.handOver());
        agent.start();
      }
      await agent.heartbeatNow().catch(() => {}); // the acknowledgement: the next heartbeat carries the report
    }).catch((err: unknown) => logger.error({ err, scope }, 'applying a configuration document failed'));
  };
  const build = (c: AgentConfig, carry?: AgentState): Agent =>
    buildAgent(c, {
      ...(carry ? { carry } : {}),
      clock: systemClock, logger, outbox, version: VERSION, config_hash: remote.report().applied_hash,
      probe: linuxProbe(config.data_dir),
      deadLetters: new FileDeadLetters(join(config.data_dir, 'dead-letters')),
      ...(config.mqtt_tls ? { tls: tlsOf(config, file)! } : {}),
      clockState: fileClockSync(),
      downlink: { topics: [topics.fleet, topics.site, topics.device, MQTT_RELEASE_TOPIC], onMessage },
      reports: () => ({ config: remote.report(), update: updater.report() }),
    });
  agent = build(agentConfigOf(config));

  let metricsServer: ReturnType<typeof createServer> | null = null;
  if (config.metrics_port !== null) {
    // Loaded only when asked for: prom-client and its start-up work are memory a board without a scraper keeps.
    const { agentRegistry } = await import('../../edge-agent/metrics.ts');
    const registry = agentRegistry(async () => ({ heartbeat: await agent.heartbeat(), acknowledged: agent.acknowledged(), connected: agent.connected(), dropped: agent.dropped() }));
    metricsServer = createServer((req, res) => {
      if (req.url !== '/metrics') return void res.writeHead(404).end('GET /metrics\n');
      registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
    });
    const a = await listen(metricsServer, config.metrics_host, config.metrics_port, `${file}: metrics_port`);
    logger.info({ metrics: `http://${a.host}:${a.port}/metrics` }, 'local metrics endpoint on');
  }
  agent.start();
  // Healthy while a flush, queued behind the periodic ones, completes: a wedged outbox stops the watchdog.
  const systemd = systemdService(process.env, logger, () => agent.flush().then(() => true));
  systemd.ready(`device ${config.device_id}, ${config.inputs.length} input(s)`);
  if (updater.onTrial()) confirmWhenHealthy(updater, () => agent, () => stopping);

  const shutdown = (reason: string): void => {
    if (stopping) process.exit(130);
    stopping = true;
    systemd.stopping();
    logger.info({ reason }, 'stopping');
    setTimeout(() => process.exit(1), 10_000).unref();
    void applying
      .then(() => agent.stop())
      .then(() => {
        metricsServer?.close();
        process.exit(0);
      });
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

/**
 * A version on trial proves itself by getting a heartbeat acknowledged by the gateway: then the launcher keeps
 * it. Tried every few seconds until it works; if it never does, the launcher rolls the version back.
 */
function confirmWhenHealthy(updater: Updater, agent: () => Agent, stopped: () => boolean): void {
  const attempt = (): void => {
    if (stopped()) return;
    agent()
      .heartbeatNow()
      .then(
        () => updater.confirmHealthy(),
        () => setTimeout(attempt, 2_000).unref(),
      );
  };
  setTimeout(attempt, 1_000).unref();
}

function reachable(url: string, timeout_ms: number): Promise<string> {
  const u = new URL(url);
  const port = Number(u.port || (u.protocol === 'mqtts:' ? 8883 : 1883));
  return new Promise((resolve) => {
    const socket = createConnection({ host: u.hostname, port, timeout: timeout_ms });
    socket.once('connect', () => {
      socket.destroy();
      resolve('reachable');
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(`no answer within ${timeout_ms} ms`);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(`not reachable (${err.code ?? err.message})`));
  });
}

export async function check(file: string): Promise<number> {
  const config = loadConfigFile(file, AgentFileConfigSchema);
  process.stdout.write(`${file}: configuration valid — device ${config.device_id} at site ${config.site}, ${config.inputs.length} input(s)\n`);
  process.stdout.write(`uplink ${config.mqtt_url}: ${await reachable(config.mqtt_url, 3_000)}\n\n`);
  const failures: string[] = [];
  const rows: string[][] = [['input', 'detector', 'station', 'interval start (UTC)', 'volume', 'occupancy %', 'speed km/h', 'status']];
  for (const c of config.inputs) {
    const input = createInput(c);
    try {
      const r = await input.read(AbortSignal.timeout(config.input_timeout_ms));
      const newest = new Map<string, (typeof r.samples)[number]>();
      for (const s of r.samples) if ((newest.get(s.detector_id)?.start_ms ?? -Infinity) < s.start_ms) newest.set(s.detector_id, s);
      if (newest.size === 0) rows.push([c.name, '(no samples)', '', '', '', '', '', '']);
      const fmt = (v: number | null, digits = 0) => (v === null ? '—' : v.toFixed(digits));
      for (const s of [...newest.values()].sort((a, b) => (a.detector_id < b.detector_id ? -1 : 1))) {
        rows.push([c.name, s.detector_id, s.station_id, new Date(s.start_ms).toISOString().replace('.000Z', 'Z'), fmt(s.volume), fmt(s.occupancy_pct, 1), fmt(s.speed_kmh, 1), s.status]);
      }
      const dropped = Object.entries(r.dropped).map(([k, n]) => `${k} ${n}`).join(', ');
      if (dropped) process.stdout.write(`${c.name}: dropped ${dropped}\n`);
    } catch (err) {
      failures.push(`${c.name}: FAILED: ${(err as Error).message}`);
      rows.push([c.name, '(failed, see below)', '', '', '', '', '', '']);
    }
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) process.stdout.write(`${r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()}\n`);
  if (failures.length > 0) process.stdout.write(`\n${failures.join('\n')}\n`);
  return failures.length;
}

